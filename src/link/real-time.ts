/**
 * Drives a Wire from the real clock: one timer, always armed for the wire's earliest deadline and
 * rearmed when a send makes that earlier. Virtual-time users skip this and call advance() themselves.
 */
import type { Wire } from './wire.js';

/** A real-time driver of a Wire (driveInRealTime). */
export interface WireDriver {
  /** Stops the timer and releases the wire's onWake hook. Packets still in flight stay in the wire. */
  stop(): void;
}

type Immediate = { cancel(): void };
/** @internal How a driver runs a due deadline: `run` at the next turn; `close` lets go of what `run` set up. */
export interface Immediates { run(fn: () => void): Immediate; close(): void }

/**
 * Runs `fn` once the host's event loop is free, without setTimeout's clamp: Node runs `setTimeout(fn, 0)` after
 * at least 1 ms and browsers after 4 ms once timers nest, so a zero-delay wire driven by it added a millisecond
 * or more to every hop (node:http between two in-process stacks was bound by it, not by CPU). setImmediate
 * where the host has one (Node), else a MessageChannel message (browsers, workers: not clamped).
 */
/** @internal */
export function makeImmediates(): Immediates {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown; clearImmediate?: (h: unknown) => void };
  if (typeof g.setImmediate === 'function' && typeof g.clearImmediate === 'function') {
    const set = g.setImmediate, clear = g.clearImmediate;
    return { run: (fn) => { const h = set(fn); return { cancel: () => clear(h) }; }, close: () => {} };
  }
  if (typeof MessageChannel === 'function') {
    let channel: MessageChannel | null = null;
    let pending: (() => void) | null = null;
    return {
      run: (fn) => {
        if (channel === null) {
          channel = new MessageChannel();
          channel.port1.onmessage = () => { const f = pending; pending = null; f?.(); };
        }
        pending = fn;
        channel.port2.postMessage(null);
        return { cancel: () => { if (pending === fn) pending = null; } };
      },
      // An open port keeps a Node or worker event loop alive.
      close: () => { pending = null; channel?.port1.close(); channel = null; },
    };
  }
  return { run: (fn) => { const h = setTimeout(fn, 0); return { cancel: () => clearTimeout(h) }; }, close: () => {} };
}

/**
 * `now` must be the same clock the endpoints pass to wire.send() (default performance.now(), ms).
 */
export function driveInRealTime(wire: Wire, opts: { now?: () => number } = {}): WireDriver {
  const now = opts.now ?? (() => performance.now());
  if (wire.onWake !== undefined) throw new Error('driveInRealTime: this wire already has a driver (onWake is set)');
  const immediates = makeImmediates();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let soon: Immediate | undefined;
  let armedFor = Infinity;
  let stopped = false;

  const disarm = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    if (soon !== undefined) soon.cancel();
    timer = undefined;
    soon = undefined;
  };
  const arm = (deadline: number): void => {
    if (stopped || deadline >= armedFor) return;
    disarm();
    armedFor = deadline;
    if (deadline === Infinity) return;
    const delay = deadline - now();
    // Due already (a zero-delay wire, or a late wake-up): at the next turn, not a clamped timer's.
    if (delay <= 0) soon = immediates.run(fire);
    else timer = setTimeout(fire, delay);
  };
  const fire = (): void => {
    timer = undefined;
    soon = undefined;
    armedFor = Infinity;
    wire.advance(now());
    arm(wire.nextDeadline());
  };

  wire.onWake = arm;
  arm(wire.nextDeadline());
  return {
    stop(): void {
      stopped = true;
      disarm();
      immediates.close();
      if (wire.onWake === arm) wire.onWake = undefined;
    },
  };
}
