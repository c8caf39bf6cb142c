// Request counts and latencies are tallied cheaply and come out of /metrics as prom-client would
// have produced them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/manager/metrics/metrics.js';
import { RuntimeState } from '../../src/balancer/runtime.js';
import { validateConfig } from '../../src/config/validate.js';
import { RequestRecord } from '../../src/proxy/core/record.js';

test('latency buckets are cumulative, counts and sums add up, scrapes do not double count', async () => {
  const runtime = new RuntimeState(validateConfig({ balancers: { c: { members: [{ url: 'http://127.0.0.1:1', route: 'a' }] } }, proxyPass: [{ path: '/', to: 'balancer://c/' }] }));
  const metrics = new Metrics(() => runtime, 'test');
  const member = runtime.balancer('c')!.members[0];
  const done = (ms: number, status: number) => {
    const info = new RequestRecord('h1-lean');
    Object.assign(info, { kind: 'proxy', balancer: 'c', member, status, outcome: 'new', durationUs: ms * 1000 });
    metrics.record(info);
  };
  done(30, 200); // 0.03 s: in le=0.05, not in le=0.025
  done(3, 200); // in le=0.005
  done(700, 503); // in le=1
  for (let scrape = 0; scrape < 2; scrape++) {
    const text = await (await metrics.registry()).metrics();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"+.]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const labels = `balancer="c",member="http://127.0.0.1:1"`;
    assert.equal(value(`stickylb_balancer_request_duration_seconds_bucket{le="0.005",${labels}}`), 1);
    assert.equal(value(`stickylb_balancer_request_duration_seconds_bucket{le="0.025",${labels}}`), 1);
    assert.equal(value(`stickylb_balancer_request_duration_seconds_bucket{le="0.05",${labels}}`), 2);
    assert.equal(value(`stickylb_balancer_request_duration_seconds_bucket{le="1",${labels}}`), 3);
    assert.equal(value(`stickylb_balancer_request_duration_seconds_bucket{le="+Inf",${labels}}`), 3);
    assert.equal(value(`stickylb_balancer_request_duration_seconds_count{${labels}}`), 3);
    assert.ok(value(`stickylb_balancer_request_duration_seconds_sum{${labels}}`) >= 0.733);
    assert.equal(value(`stickylb_http_requests_total{kind="proxy",status_class="2xx"}`), 2);
    assert.equal(value(`stickylb_http_requests_total{kind="proxy",status_class="5xx"}`), 1);
    assert.equal(value(`stickylb_balancer_requests_total{balancer="c",member="http://127.0.0.1:1",route="a",status_class="2xx",outcome="new"}`), 2);
  }
});
