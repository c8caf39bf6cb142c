# stickylb as a container image: Node 20 slim, the package built and packed in a first stage and
# installed globally in the second (as `npm install -g` does on a server), run as the unprivileged
# `node` user. The config is mounted at /etc/stickylb/stickylb.yaml (or pass other arguments);
# state worth keeping (persist, ACME storeDir) belongs under /var/lib/stickylb.
#
#   docker build -t stickylb .
#   docker run -p 8080:8080 -v "$PWD/site.yaml:/etc/stickylb/stickylb.yaml:ro" stickylb

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.types.json ./
COPY bin ./bin
COPY src ./src
COPY schema ./schema
COPY docs ./docs
COPY examples ./examples
RUN npm run build && npm pack --ignore-scripts && mv stickylb-*.tgz /tmp/stickylb.tgz

FROM node:20-slim
ENV NODE_ENV=production
COPY --from=build /tmp/stickylb.tgz /tmp/stickylb.tgz
RUN npm install -g --omit=dev --no-audit --no-fund /tmp/stickylb.tgz \
    && rm /tmp/stickylb.tgz \
    && npm cache clean --force \
    && mkdir -p /etc/stickylb /var/lib/stickylb \
    && chown node:node /var/lib/stickylb
USER node
WORKDIR /var/lib/stickylb
EXPOSE 8080
# The port the health check connects to: set it to a port the config listens on.
ENV STICKYLB_HEALTH_PORT=8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["node", "-e", "const s = require('node:net').connect(Number(process.env.STICKYLB_HEALTH_PORT), '127.0.0.1'); s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(1)); setTimeout(() => process.exit(1), 4000);"]
# SIGTERM (docker stop) lets requests in flight finish; SIGHUP reloads the config.
STOPSIGNAL SIGTERM
ENTRYPOINT ["stickylb"]
CMD ["run", "-c", "/etc/stickylb/stickylb.yaml"]
