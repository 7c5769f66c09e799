/**
 * Time for a stack. The stack never reads Date.now(): it asks its Clock, and arms exactly one timer for
 * the earliest deadline of all its connections. RealClock uses the host's timers; VirtualClock is driven
 * by tests and simulations (time jumps straight to the next deadline).
 */
export interface Clock {
  /** Milliseconds (fractional allowed) since an arbitrary origin. */
  now(): number;
  /** Arm the single wake-up at absolute time `at` (replacing any earlier one); Infinity disarms. */
  wakeAt(at: number, cb: () => void): void;
}

export class RealClock implements Clock {
  private handle: ReturnType<typeof setTimeout> | null = null;
  private armedAt = Infinity;
  private readonly origin = performance.now();
  now(): number { return performance.now() - this.origin; }
  wakeAt(at: number, cb: () => void): void {
    if (at === this.armedAt && this.handle !== null) return;
    if (this.handle !== null) { clearTimeout(this.handle); this.handle = null; }
    this.armedAt = at;
    if (at === Infinity) return;
    const delay = Math.max(0, at - this.now());
    this.handle = setTimeout(() => { this.handle = null; this.armedAt = Infinity; cb(); }, Math.ceil(delay));
    // A pending TCP timer (e.g. TIME-WAIT) should not keep a Node process alive on its own.
    (this.handle as { unref?: () => void }).unref?.();
  }
}

/** A clock that moves only when told to. Several stacks may share one (a simulated network). */
export class VirtualClock implements Clock {
  private t: number;
  private wakeups = new Map<object, { at: number; cb: () => void }>();
  private readonly owner = new WeakMap<() => void, object>();
  constructor(start = 0) { this.t = start; }
  now(): number { return this.t; }
  wakeAt(at: number, cb: () => void): void {
    // One wake-up per callback identity (each stack passes the same bound callback every time).
    let key = this.owner.get(cb);
    if (!key) { key = {}; this.owner.set(cb, key); }
    if (at === Infinity) this.wakeups.delete(key);
    else this.wakeups.set(key, { at, cb });
  }
  /** Earliest armed wake-up, or Infinity. */
  nextWake(): number {
    let t = Infinity;
    for (const w of this.wakeups.values()) if (w.at < t) t = w.at;
    return t;
  }
  /** Set the time (never backwards) and fire every wake-up that is due. */
  advanceTo(t: number): void {
    if (t > this.t) this.t = t;
    for (let guard = 0; guard < 1_000_000; guard++) {
      let due: [object, { at: number; cb: () => void }] | null = null;
      for (const e of this.wakeups) if (e[1].at <= this.t && (due === null || e[1].at < due[1].at)) due = e;
      if (due === null) return;
      this.wakeups.delete(due[0]);
      due[1].cb();
    }
  }
}
