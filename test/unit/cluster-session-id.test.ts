import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ClusterError,
  MIN_BITS,
  alphabetFor,
  createCluster,
  isOwnSession,
  newSessionId,
  randomToken,
  routeOf,
} from '../../src/cluster/index.js';

const BASE64URL = /^[A-Za-z0-9_-]+$/;

test('ids are <random>.<route> with a base64url random part of at least 128 bits', () => {
  const c = createCluster({ route: 'first' });
  const id = c.newSessionId();
  assert.match(id, /^[A-Za-z0-9_-]{22}\.first$/);
  const random = id.slice(0, id.indexOf('.'));
  assert.ok(random.length * Math.log2(c.alphabet.length) >= MIN_BITS);
  assert.equal(c.alphabet.length, 64);
  assert.ok(!c.alphabet.includes('.'));
});

test('more bits make longer ids; fewer than 128 are refused', () => {
  assert.match(createCluster({ route: 'r', bits: 256 }).newSessionId(), /^[A-Za-z0-9_-]{43}\.r$/);
  for (const bits of [64, 127, 128.5, Number.NaN]) {
    assert.throws(() => createCluster({ route: 'r', bits }), (e: ClusterError) => e.code === 'ERR_STICKYLB_OPTION');
  }
});

test('the random part never contains the separator, whichever separator is chosen', () => {
  for (const sep of ['.', '-', '_', '*']) {
    const c = createCluster({ route: 'node1', separator: sep });
    assert.equal(c.alphabet, alphabetFor(sep));
    assert.ok(!c.alphabet.includes(sep));
    assert.ok(c.alphabet.length >= 63);
    for (let i = 0; i < 2000; i++) {
      const id = c.newSessionId();
      assert.equal(id.indexOf(sep), id.length - 'node1'.length - 1, `separator inside ${id}`);
      assert.equal(c.routeOf(id), 'node1');
      assert.ok(c.isOwnSession(id));
    }
    // 22 characters of a 63-letter alphabet still carry more than 128 bits.
    assert.ok((c.newSessionId().length - 6) * Math.log2(c.alphabet.length) >= 128);
  }
});

test('ids are unique and every character of the alphabet is about equally likely', () => {
  const c = createCluster({ route: 'first' });
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const id = c.newSessionId();
    assert.ok(!seen.has(id));
    seen.add(id);
    for (const ch of id.slice(0, 22)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  assert.equal(counts.size, 64);
  const expected = (n * 22) / 64;
  for (const [ch, k] of counts) {
    // About six standard deviations: a biased generator (e.g. modulo folding) fails, chance does not.
    assert.ok(Math.abs(k - expected) < expected * 0.07, `character ${ch} seen ${k} times, expected about ${expected}`);
  }
});

test('randomToken draws only from the alphabet it is given', () => {
  const t = randomToken(128, 'abc');
  assert.match(t, /^[abc]+$/);
  assert.equal(t.length, Math.ceil(128 / Math.log2(3)));
});

test('routeOf reads what the balancer reads: the text after the first separator', () => {
  assert.equal(routeOf('Xk3f9.first'), 'first');
  assert.equal(routeOf('a.b.second'), 'b.second');
  assert.equal(routeOf('nodot'), undefined);
  assert.equal(routeOf('trailing.'), undefined);
  assert.equal(routeOf('abc-node2', '-'), 'node2');
});

test('isOwnSession accepts only well-formed ids that carry this route', () => {
  const c = createCluster({ route: 'first' });
  assert.ok(c.isOwnSession(c.newSessionId()));
  assert.ok(c.isOwnSession('x.first'));
  assert.ok(!c.isOwnSession(createCluster({ route: 'second' }).newSessionId()));
  assert.ok(!c.isOwnSession('.first'));
  assert.ok(!c.isOwnSession('abc.firstx'));
  assert.ok(!c.isOwnSession('ab c.first'));
  assert.ok(!c.isOwnSession('a.b.first'));
  assert.ok(!c.isOwnSession('first'));
  assert.ok(!c.isOwnSession(undefined as unknown as string));
});

test('the module-level helpers follow STICKYLB_ROUTE', () => {
  const before = process.env.STICKYLB_ROUTE;
  try {
    process.env.STICKYLB_ROUTE = 'envnode';
    const id = newSessionId();
    assert.match(id, /^[A-Za-z0-9_-]{22}\.envnode$/);
    assert.ok(isOwnSession(id));
    process.env.STICKYLB_ROUTE = 'other';
    assert.ok(!isOwnSession(id));
    delete process.env.STICKYLB_ROUTE;
    assert.throws(() => newSessionId(), (e: ClusterError) => e.code === 'ERR_STICKYLB_ROUTE_MISSING');
  } finally {
    if (before === undefined) delete process.env.STICKYLB_ROUTE;
    else process.env.STICKYLB_ROUTE = before;
  }
});

test('ids survive URLSearchParams and encodeURIComponent unchanged', () => {
  for (const sep of ['.', '-', '_', '*']) {
    const id = createCluster({ route: 'n-1_x'.replace(sep, ''), separator: sep }).newSessionId();
    assert.equal(encodeURIComponent(id), id);
    assert.equal(new URLSearchParams({ _s: id }).toString(), `_s=${id}`);
    assert.match(id.replace(sep, ''), BASE64URL);
  }
});
