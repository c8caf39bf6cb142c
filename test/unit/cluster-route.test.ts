import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterError, createCluster, resolveRoute, validateRoute, validateSeparator } from '../../src/cluster/index.js';

function refused(fn: () => unknown, code: string, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ClusterError, `expected a ClusterError, got ${String(e)}`);
    assert.ok(e instanceof Error);
    assert.equal(e.code, code);
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

test('good routes pass unchanged', () => {
  for (const r of ['first', 'R1', 'node_2', 'eu-west-1', 'a', 'x'.repeat(63)]) assert.equal(validateRoute(r), r);
});

test('a missing STICKYLB_ROUTE is refused with a message that says how to set it', () => {
  refused(() => resolveRoute(undefined, '.', {}), 'ERR_STICKYLB_ROUTE_MISSING', 'STICKYLB_ROUTE is not set', 'STICKYLB_ROUTE=first');
  refused(() => createCluster({ env: {} }), 'ERR_STICKYLB_ROUTE_MISSING');
});

test('an empty route is refused', () => {
  refused(() => resolveRoute(undefined, '.', { STICKYLB_ROUTE: '' }), 'ERR_STICKYLB_ROUTE_EMPTY', 'STICKYLB_ROUTE is empty');
  refused(() => createCluster({ route: '' }), 'ERR_STICKYLB_ROUTE_EMPTY', 'route is empty');
});

test('a route containing the separator is refused, naming what the balancer would look for', () => {
  refused(() => validateRoute('eu.first'), 'ERR_STICKYLB_ROUTE_SEPARATOR', '"eu.first"', 'separator "."', 'look for "first"');
  refused(() => createCluster({ route: 'eu-1', separator: '-' }), 'ERR_STICKYLB_ROUTE_SEPARATOR', 'separator "-"');
  // With another separator a dot is simply a bad character.
  refused(() => createCluster({ route: 'eu.1', separator: '-' }), 'ERR_STICKYLB_ROUTE_CHARS', 'contains "."');
});

test('characters outside [A-Za-z0-9_-] are refused, naming the first bad one', () => {
  refused(() => validateRoute('my node'), 'ERR_STICKYLB_ROUTE_CHARS', '"my node"', 'contains " "', 'letters, digits');
  refused(() => validateRoute('nœud'), 'ERR_STICKYLB_ROUTE_CHARS', 'contains "œ"');
  refused(() => validateRoute('a/b'), 'ERR_STICKYLB_ROUTE_CHARS');
  refused(() => validateRoute('a;b'), 'ERR_STICKYLB_ROUTE_CHARS');
  refused(() => validateRoute('a%2E'), 'ERR_STICKYLB_ROUTE_CHARS');
  refused(() => resolveRoute(undefined, '.', { STICKYLB_ROUTE: 'first\n' }), 'ERR_STICKYLB_ROUTE_CHARS', 'STICKYLB_ROUTE "first\\n"');
});

test('routes of 64 characters or more are refused', () => {
  refused(() => validateRoute('x'.repeat(64)), 'ERR_STICKYLB_ROUTE_LENGTH', '64 characters');
});

test('only separators that URLs and cookies carry unencoded are accepted', () => {
  for (const s of ['.', '-', '_', '*']) assert.equal(validateSeparator(s), s);
  for (const s of ['', '..', '~', '!', ':', '/', ';', 'a', '%']) {
    refused(() => validateSeparator(s), 'ERR_STICKYLB_SEPARATOR', 'stickysessionsep');
    refused(() => createCluster({ route: 'first', separator: s }), 'ERR_STICKYLB_SEPARATOR');
  }
});

test('an explicit route wins over STICKYLB_ROUTE', () => {
  assert.equal(resolveRoute('given', '.', { STICKYLB_ROUTE: 'env' }), 'given');
  assert.equal(createCluster({ env: { STICKYLB_ROUTE: 'env' } }).route, 'env');
  assert.equal(createCluster({ route: 'given', env: { STICKYLB_ROUTE: 'env' } }).route, 'given');
});
