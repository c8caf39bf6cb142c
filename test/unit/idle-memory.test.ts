// When a quiet process asks V8 for a collection: only after a whole quiet interval, only while the
// young generation holds more than the floor, a few times at most per quiet period, and again after
// the next busy interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideTrim, MAX_ATTEMPTS, QUIET_UTILIZATION, YOUNG_FLOOR_BYTES, type IdleTrimState } from '../../src/util/idle-memory.js';

const BIG = 30 * 1024 * 1024;
const QUIET = QUIET_UTILIZATION / 10;
const BUSY = 0.5;

/** Runs the decision over a sequence of (utilization, young bytes) intervals; returns the trims. */
function run(intervals: [number, number][]): boolean[] {
  let state: IdleTrimState = { attempts: 0 };
  return intervals.map(([u, young]) => {
    const d = decideTrim(state, u, young);
    state = d.state;
    return d.trim;
  });
}

test('a busy interval never collects; the first quiet one after it does', () => {
  assert.deepEqual(run([[BUSY, BIG], [BUSY, BIG], [QUIET, BIG]]), [false, false, true]);
});

test('utilization at the threshold counts as busy', () => {
  assert.deepEqual(run([[QUIET_UTILIZATION, BIG]]), [false]);
});

test('nothing to give back: a young generation at the floor is left alone', () => {
  assert.deepEqual(run([[QUIET, YOUNG_FLOOR_BYTES], [QUIET, 1024 * 1024]]), [false, false]);
});

test('once shrunk, a quiet process is not collected again', () => {
  assert.deepEqual(run([[QUIET, BIG], [QUIET, YOUNG_FLOOR_BYTES], [QUIET, YOUNG_FLOOR_BYTES], [QUIET, YOUNG_FLOOR_BYTES]]), [true, false, false, false]);
});

test('when V8 declines to shrink, a quiet period asks at most MAX_ATTEMPTS times', () => {
  const trims = run(Array.from({ length: MAX_ATTEMPTS + 4 }, () => [QUIET, BIG] as [number, number]));
  assert.equal(trims.filter(Boolean).length, MAX_ATTEMPTS);
  assert.deepEqual(trims.slice(0, MAX_ATTEMPTS), Array(MAX_ATTEMPTS).fill(true));
});

test('a busy interval starts a new quiet period with its own attempts', () => {
  const quietRun = Array.from({ length: MAX_ATTEMPTS + 1 }, () => [QUIET, BIG] as [number, number]);
  const trims = run([...quietRun, [BUSY, BIG], [QUIET, BIG]]);
  assert.equal(trims.at(-1), true);
  assert.equal(trims.filter(Boolean).length, MAX_ATTEMPTS + 1);
});
