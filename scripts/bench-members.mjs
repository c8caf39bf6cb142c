// The benchmark's members: one nginx process answering "ok" from memory on each route's port,
// with an X-Route header (scripts/bench.mjs, scripts/rss-idle.mjs).

/** nginx's config for the members on `ports` ({ route: port }), its files in `work`. */
export function membersNginxConf(work, ports, workerConnections) {
  return `worker_processes 1;
daemon off;
pid ${work}/members.pid;
error_log ${work}/members-error.log error;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  keepalive_requests 10000000;
  client_body_temp_path ${work}/members-body;
${Object.entries(ports)
  .map(([route, port]) => `  server { listen 127.0.0.1:${port}; location / { add_header X-Route ${route}; default_type text/plain; return 200 "ok\\n"; } }`)
  .join('\n')}
}
`;
}
