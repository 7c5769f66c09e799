/**
 * Time for a stack. The stack never reads Date.now(): it asks its Clock, and arms exactly one timer for
 * the earliest deadline of all its connections. RealClock uses the host's timers; VirtualClock is driven
 * by tests and simulations (time jumps straight to the next deadline).
 */
export interface Clock {
  /** Milliseconds (fractional allowed) since an arbitrary origin. */
  now(): number;
  /**
   * Arm the wake-up for `cb` at absolute time `at`; Infinity disarms it. Each callback identity has one
   * wake-up, replaced by the next call with the same callback: several stacks may share one clock.
   */
  wakeAt(at: number, cb: () => void): void;
  /**
   * Keep the host process alive until the returned function is called (Node's ref()): a socket with pending
   * work holds one. Clocks with no process to keep alive (virtual time) leave it out.
   */
  hold?(): () => void;
}

type TimerHandle = ReturnType<typeof setTimeout>;

/**
 * The host's real time (performance.now()) and timers. Works in Node and browsers. TCP timers alone never keep
 * a Node process alive (like the kernel's, they are not the process's business); holds do.
 */
export class RealClock implements Clock {
  /**
   * Per callback: the time it is wanted (`at`, Infinity: not wanted) and the host timer armed for `armedAt`
   * (null: none). A stack moves its deadline at nearly every batch, mostly later (each ACK pushes the
   * retransmission timer out): such a move only records the new time, and the armed timer, firing first,
   * arms the rest instead of calling back. Only an earlier deadline clears and re-creates the host timer.
   */
  private readonly armed = new Map<() => void, { at: number; armedAt: number; handle: TimerHandle | null }>();
  private readonly origin = performance.now();
  private holds = 0;
  private keeper: ReturnType<typeof setInterval> | null = null;
  now(): number { return performance.now() - this.origin; }
  wakeAt(at: number, cb: () => void): void {
    let w = this.armed.get(cb);
    if (w === undefined) {
      if (at === Infinity) return;
      w = { at, armedAt: Infinity, handle: null };
      this.armed.set(cb, w);
    }
    w.at = at;
    if (at >= w.armedAt) return; // the armed timer fires first and arms the rest (fire)
    if (w.handle !== null) clearTimeout(w.handle);
    this.arm(w, cb);
  }
  private arm(w: { at: number; armedAt: number; handle: TimerHandle | null }, cb: () => void): void {
    const delay = Math.max(0, w.at - this.now());
    w.armedAt = w.at;
    const handle = setTimeout(() => this.fire(w, cb), Math.ceil(delay));
    (handle as { unref?: () => void }).unref?.();
    w.handle = handle;
  }
  private fire(w: { at: number; armedAt: number; handle: TimerHandle | null }, cb: () => void): void {
    w.handle = null;
    w.armedAt = Infinity;
    if (w.at === Infinity) { this.armed.delete(cb); return; }
    // Moved later since this timer was armed (or early by the host's rounding): wait the rest.
    if (w.at > this.now()) { this.arm(w, cb); return; }
    this.armed.delete(cb);
    cb();
  }
  hold(): () => void {
    if (this.holds++ === 0) {
      // One long, empty interval is the cheapest ref'ed handle Node offers; browsers need none (harmless there).
      this.keeper = setInterval(() => {}, 0x7fffffff);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && this.keeper !== null) { clearInterval(this.keeper); this.keeper = null; }
    };
  }
}

/** A clock that moves only when told to. Several stacks may share one (a simulated network). */
export class VirtualClock implements Clock {
  private t: number;
  /**
   * Armed wake-ups by callback (each stack passes the same bound callback every time), in the order they were
   * armed; an entry re-armed while armed keeps its place and is updated in place (no object per call).
   */
  private wakeups = new Map<() => void, { at: number; cb: () => void }>();
  constructor(start = 0) { this.t = start; }
  now(): number { return this.t; }
  wakeAt(at: number, cb: () => void): void {
    const w = this.wakeups.get(cb);
    if (at === Infinity) { if (w !== undefined) this.wakeups.delete(cb); return; }
    if (w !== undefined) w.at = at;
    else this.wakeups.set(cb, { at, cb });
  }
  /** Earliest armed wake-up, or Infinity. */
  nextWake(): number {
    let t = Infinity;
    for (const w of this.wakeups.values()) if (w.at < t) t = w.at;
    return t;
  }
  /** Set the time (never backwards) and fire every wake-up that is due. */
  // The earliest first; ties: the first armed.
  advanceTo(t: number): void {
    if (t > this.t) this.t = t;
    for (let guard = 0; guard < 1_000_000; guard++) {
      let due: { at: number; cb: () => void } | null = null;
      for (const w of this.wakeups.values()) if (w.at <= this.t && (due === null || w.at < due.at)) due = w;
      if (due === null) return;
      this.wakeups.delete(due.cb);
      due.cb();
    }
  }
}
