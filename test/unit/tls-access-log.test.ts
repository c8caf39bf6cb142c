// The TLS parts of the access log and the status figures: %H says HTTP/2.0 for HTTP/2,
// %{SSL_PROTOCOL}x and %{SSL_CIPHER}x the negotiated version and cipher (`-` without TLS), and
// server-status counts requests by protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLogFormat } from '../../src/log/access-format.js';
import { accessRecord } from '../../src/log/access-record.js';
import { RequestRecord } from '../../src/proxy/core/record.js';
import { renderAuto } from '../../src/manager/status/status-auto.js';
import { statusView } from '../../src/manager/status/status-view.js';
import { RuntimeState } from '../../src/balancer/runtime.js';
import { validateConfig } from '../../src/config/validate.js';

function record(over: Partial<RequestRecord>): RequestRecord {
  const r = new RequestRecord('h2');
  r.method = 'GET';
  r.target = '/x';
  r.status = 200;
  Object.assign(r, over);
  return r;
}

test('%H, %{SSL_PROTOCOL}x, %{SSL_CIPHER}x and %{SSL_TLS_SNI}x', () => {
  const f = compileLogFormat('"%r" %H %{SSL_PROTOCOL}x %{SSL_CIPHER}x %{SSL_TLS_SNI}x %{HTTPS}x');
  const h2 = accessRecord(record({ httpVersion: '2', scheme: 'https', tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', serverName: 'a.test' } }));
  assert.equal(f.line(h2), '"GET /x HTTP/2.0" HTTP/2.0 TLSv1.3 TLS_AES_256_GCM_SHA384 a.test on');
  const plain = accessRecord(record({ transport: 'h1-lean', httpVersion: '1.1' }));
  assert.equal(f.line(plain), '"GET /x HTTP/1.1" HTTP/1.1 - - - -');
  assert.deepEqual(f.fields(h2).ssl, { SSL_PROTOCOL: 'TLSv1.3', SSL_CIPHER: 'TLS_AES_256_GCM_SHA384', SSL_TLS_SNI: 'a.test', HTTPS: 'on' });
});

test('server-status ?auto counts requests by protocol', () => {
  const config = validateConfig({ balancers: { app: { members: [{ url: 'http://127.0.0.1:9' }] } }, proxyPass: [{ path: '/', to: 'balancer://app/' }] });
  const v = statusView({
    runtime: new RuntimeState(config),
    config,
    stats: { startedAt: 0, requests: 7, inFlight: 0, connections: 1, bytesIn: 0, bytesOut: 0, byVersion: { '1.1': 3, '1.0': 1, '2': 3 }, tlsRequests: 5 },
    serverName: 'a.test',
    version: '1',
    now: 1000,
  });
  const auto = renderAuto(v);
  assert.match(auto, /^RequestsHTTP1: 4$/m);
  assert.match(auto, /^RequestsHTTP2: 3$/m);
  assert.match(auto, /^RequestsTLS: 5$/m);
});
