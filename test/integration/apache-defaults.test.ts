// Apache's defaults under Apache syntax and stickylb's under YAML, through real sockets: a member
// that redirects with relative and absolute Locations behind ProxyPass /app/ balancer://c/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startBalancer, type RunningBalancer } from '../helpers/balancer.js';
import { request } from '../helpers/http.js';
import { parseApacheConfig } from '../../src/config/apache/index.js';
import type { RawConfig } from '../../src/config/schema.js';

let member: Backend;
const running: RunningBalancer[] = [];

after(async () => {
  for (const lb of running) await lb.close();
  await member?.close();
});

/** The member redirects `/to?X` to the Location X (relative or absolute). */
async function redirector(): Promise<Backend> {
  member ??= await startBackend({
    name: 'a',
    handler: (req, res) => {
      const to = decodeURIComponent(new URL(req.url!, 'http://x').searchParams.get('to') ?? '/');
      res.writeHead(302, { Location: to.replace('MEMBER', member.url), 'Content-Length': '0' });
      res.end();
    },
  });
  return member;
}

async function fromApache(): Promise<RunningBalancer> {
  const m = await redirector();
  const text = `<Proxy balancer://c>\n  BalancerMember ${m.url} route=a\n</Proxy>\nProxyPass /app/ balancer://c/\nProxyPassReverse /app/ balancer://c/\n`;
  const lb = await startBalancer(parseApacheConfig(text, 'site.conf').raw as RawConfig);
  running.push(lb);
  return lb;
}

async function fromYaml(): Promise<RunningBalancer> {
  const m = await redirector();
  const lb = await startBalancer({
    balancers: { c: { members: [{ url: m.url, route: 'a' }] } },
    proxyPass: [{ path: '/app/', to: 'balancer://c/' }],
    proxyPassReverse: [{ path: '/app/', to: 'balancer://c/' }],
  });
  running.push(lb);
  return lb;
}

const location = async (lb: RunningBalancer, to: string) => (await request(`${lb.url}/app/to?to=${encodeURIComponent(to)}`)).headers.location;

test('Apache syntax: a relative Location passes unchanged, as in Apache; a member URL is rewritten [relative-redirects]', async () => {
  const lb = await fromApache();
  assert.equal(await location(lb, '/landing'), '/landing');
  assert.equal(await location(lb, '/app/landing'), '/app/landing', 'an app that knows its prefix is not sent to /app/app/landing');
  assert.equal(await location(lb, 'MEMBER/landing'), `http://127.0.0.1:${lb.port}/app/landing`);
});

test('YAML: a relative Location is mapped to the local path unless already under it; a member URL is rewritten [relative-redirects]', async () => {
  const lb = await fromYaml();
  assert.equal(await location(lb, '/landing'), '/app/landing');
  assert.equal(await location(lb, '/app/landing'), '/app/landing');
  assert.equal(await location(lb, 'MEMBER/landing'), `http://127.0.0.1:${lb.port}/app/landing`);
});
