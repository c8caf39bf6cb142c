// The configs of the C proxies the benchmarks compare with: HAProxy and nginx doing the same
// sticky routing on the `_s` cookie as stickylb, with keep-alive connections to the members
// (scripts/bench.mjs for plain HTTP, scripts/bench-https.mjs for TLS and HTTP/2).

/**
 * HAProxy's config. `ports`: the members ({ first, second }); `global`: lines added to `global`;
 * `bind`: what follows the address on the bind line (TLS); `frontend`: lines added to the frontend.
 */
export function haproxyCfg({ port, threads, ports, global = [], bind = '', frontend = [] }) {
  return `global
  nbthread ${threads}
  maxconn 4096
${global.map((l) => `  ${l}\n`).join('')}defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}${bind}
${frontend.map((l) => `  ${l}\n`).join('')}  default_backend be
backend be
  balance roundrobin
  use-server first if { req.cook(_s) -m end .first }
  use-server second if { req.cook(_s) -m end .second }
  server first 127.0.0.1:${ports.first}
  server second 127.0.0.1:${ports.second}
`;
}

/**
 * nginx's config, its files in `work` under `name`. `http`: lines added to `http`; `listen`: what
 * follows the address on the listen line (TLS); `server`: lines added to the server;
 * `location`: lines added to the proxied location.
 */
export function nginxConf({ work, name, port, processes, ports, http = [], listen = '', server = [], location = [] }) {
  return `worker_processes ${processes};
daemon off;
master_process on;
pid ${work}/${name}.pid;
error_log ${work}/${name}-error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  # One connection carries the whole run, as in the other proxies (nginx closes after 1000).
  keepalive_requests 10000000;
  client_body_temp_path ${work}/nginx-body;
  proxy_temp_path ${work}/nginx-proxy;
  upstream first { server 127.0.0.1:${ports.first}; keepalive 64; }
  upstream second { server 127.0.0.1:${ports.second}; keepalive 64; }
  upstream pool { server 127.0.0.1:${ports.first}; server 127.0.0.1:${ports.second}; keepalive 64; }
  map $cookie__s $sticky { ~\\.first$ first; ~\\.second$ second; default pool; }
${http.map((l) => `  ${l}\n`).join('')}  server {
    listen 127.0.0.1:${port}${listen};
${server.map((l) => `    ${l}\n`).join('')}    location / {
      proxy_pass http://$sticky;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
${location.map((l) => `      ${l}\n`).join('')}    }
  }
}
`;
}
