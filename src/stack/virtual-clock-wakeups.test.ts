/**
 * VirtualClock's wake-ups, which every simulated network's stacks share: each callback has one, the earliest fires
 * first, equal deadlines fire in the order they were armed (a wake-up moved while armed keeps its place, one armed
 * again after it fired or was disarmed goes last), and a disarmed one never fires nor counts for nextWake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from './clock.js';

test('equal deadlines fire in arming order; moved while armed keeps its place, re-armed after disarming goes last', () => {
  const clock = new VirtualClock();
  const fired: string[] = [];
  const a = () => fired.push('a'), b = () => fired.push('b'), c = () => fired.push('c');
  clock.wakeAt(10, a);
  clock.wakeAt(10, b);
  clock.wakeAt(10, c);
  clock.wakeAt(5, a); // moved earlier while armed
  clock.wakeAt(10, a); // and back: still first among equals
  clock.wakeAt(Infinity, b);
  clock.wakeAt(10, b); // armed again: after c
  assert.equal(clock.nextWake(), 10);
  clock.advanceTo(10);
  assert.deepEqual(fired, ['a', 'c', 'b']);
  assert.equal(clock.nextWake(), Infinity);
});

test('a wake-up that fired and is armed again from its own callback goes after those already armed', () => {
  const clock = new VirtualClock();
  const fired: string[] = [];
  let again = true;
  const a = (): void => { fired.push('a'); if (again) { again = false; clock.wakeAt(20, a); } };
  const b = () => fired.push('b');
  clock.wakeAt(10, a);
  clock.wakeAt(20, b);
  clock.advanceTo(20);
  assert.deepEqual(fired, ['a', 'b', 'a']);
});

test('disarmed wake-ups never fire, and many armed and disarmed leave the clock as if they never were', () => {
  const clock = new VirtualClock();
  let count = 0;
  const cbs = Array.from({ length: 100 }, () => () => { count++; });
  for (let i = 0; i < cbs.length; i++) clock.wakeAt(1 + i, cbs[i]!);
  for (const cb of cbs) clock.wakeAt(Infinity, cb);
  assert.equal(clock.nextWake(), Infinity);
  clock.advanceTo(1000);
  assert.equal(count, 0);
  // Armed again (after the clock forgot the disarmed ones): each fires once, in deadline order.
  const order: number[] = [];
  for (let i = 0; i < 10; i++) clock.wakeAt(2000 - i, () => order.push(i));
  assert.equal(clock.nextWake(), 1991);
  clock.advanceTo(3000);
  assert.deepEqual(order, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  assert.equal(clock.now(), 3000);
});

test('time never goes backwards, and a wake-up already due fires at the next advance', () => {
  const clock = new VirtualClock(50);
  const at: number[] = [];
  clock.advanceTo(40);
  assert.equal(clock.now(), 50);
  clock.wakeAt(30, () => at.push(clock.now()));
  clock.advanceTo(50);
  assert.deepEqual(at, [50]);
});
