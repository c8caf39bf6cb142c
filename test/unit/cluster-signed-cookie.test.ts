import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  ClusterError,
  clusterSigner,
  createCluster,
  expressToRouteLast,
  routeLastSigner,
  routeLastToExpress,
} from '../../src/cluster/index.js';
import { findRoute } from '../../src/balancer/sticky/route-id.js';

// express-session's own signing, as it signs its cookie.
const signature = createRequire(import.meta.url)('cookie-signature') as {
  sign(v: string, s: string): string;
  unsign(v: string, s: string): string | false;
};

const SECRET = 'a secret of at least thirty-two characters';

function balancerRoute(cookieHeader: string, name: string): string | undefined {
  return findRoute('/', cookieHeader, { cookie: name }, '.', false).route;
}

test("express-session's signed cookie hides the route from the balancer; the route-last form shows it", () => {
  const id = createCluster({ route: 'first' }).newSessionId();
  const signed = `s:${signature.sign(id, SECRET)}`;
  const onTheWire = encodeURIComponent(signed);
  // What the balancer would see without the adapter: the signature glued to the route.
  const seen = balancerRoute(`connect.sid=${onTheWire}`, 'connect.sid');
  assert.ok(seen?.startsWith('first.') && seen.length > 'first.'.length, `saw ${seen}`);

  const routeLast = expressToRouteLast(signed)!;
  assert.match(routeLast, /^[0-9a-f]{64}~[A-Za-z0-9_-]{22}\.first$/);
  assert.equal(encodeURIComponent(routeLast), routeLast);
  assert.equal(balancerRoute(`connect.sid=${routeLast}`, 'connect.sid'), 'first');

  const back = routeLastToExpress(routeLast)!;
  assert.equal(back, signed);
  assert.equal(signature.unsign(back.slice(2), SECRET), id);
});

test('the route-last form works with every allowed separator', () => {
  for (const sep of ['.', '-', '_', '*']) {
    const id = createCluster({ route: 'node1', separator: sep }).newSessionId();
    const routeLast = expressToRouteLast(`s:${signature.sign(id, SECRET)}`)!;
    assert.equal(findRoute('/', `c=${routeLast}`, { cookie: 'c' }, sep, false).route, 'node1');
    assert.equal(routeLastToExpress(routeLast), `s:${signature.sign(id, SECRET)}`);
  }
});

test('values that are not express-session signatures are left alone', () => {
  assert.equal(expressToRouteLast('plain.first'), undefined);
  assert.equal(expressToRouteLast('s:nodot'), undefined);
  assert.equal(expressToRouteLast('s:a b.first.sig'), undefined);
  assert.equal(routeLastToExpress('s%3Aabc.first.sig'), undefined);
  assert.equal(routeLastToExpress('xyz~abc.first'), undefined);
  assert.equal(routeLastToExpress('abc~abc.first'), undefined);
});

test('the fastify signer signs route-last, verifies, rotates secrets and rejects tampering', () => {
  const older = 'an older secret, thirty-two characters or more';
  const signer = clusterSigner([SECRET, older]);
  const id = createCluster({ route: 'second' }).newSessionId();
  const signed = signer.sign(id);
  assert.match(signed, /^[0-9a-f]{64}~[A-Za-z0-9_-]{22}\.second$/);
  assert.equal(balancerRoute(`sessionId=${signed}`, 'sessionId'), 'second');
  assert.deepEqual(signer.unsign(signed), { valid: true, renew: false, value: id });
  assert.deepEqual(signer.unsign(routeLastSigner(older).sign(id)), { valid: true, renew: true, value: id });
  const invalid = { valid: false, renew: false, value: null };
  assert.deepEqual(signer.unsign(signed.replace(/\.second$/, '.third')), invalid);
  assert.deepEqual(signer.unsign(`${signed[0] === '0' ? '1' : '0'}${signed.slice(1)}`), invalid);
  assert.deepEqual(signer.unsign(id), invalid);
  assert.deepEqual(signer.unsign(''), invalid);
  assert.deepEqual(routeLastSigner('another secret of at least 32 characters').unsign(signed), invalid);
});

test('short or missing signing secrets are refused', () => {
  for (const s of ['short', [], ['x'.repeat(32), 'short']]) {
    assert.throws(() => clusterSigner(s), (e: ClusterError) => e.code === 'ERR_STICKYLB_OPTION');
  }
});
