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
  private readonly armed = new Map<() => void, RealWakeup>();
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
  private arm(w: RealWakeup, cb: () => void): void {
    const delay = Math.max(0, w.at - this.now());
    w.armedAt = w.at;
    const handle = setTimeout(() => this.fire(w, cb), Math.ceil(delay));
    (handle as { unref?: () => void }).unref?.();
    w.handle = handle;
  }
  private fire(w: RealWakeup, cb: () => void): void {
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
   * Wake-ups by callback (each stack passes the same bound callback every time). An entry stays when disarmed
   * (at = Infinity) and is armed again in place: a stack re-arms at nearly every segment, and an object per
   * re-arm was garbage for every one (bulk transfers: ~1.5 % of the CPU in wakeAt). Disarmed entries are
   * dropped once they are most of the list (a long-lived clock whose stacks come and go keeps none of them).
   */
  private readonly byCb = new Map<() => void, Wakeup>();
  /** The same entries, scanned without an iterator (nextWake, advanceTo: at every virtual step). */
  private list: Wakeup[] = [];
  private disarmed = 0;
  /** Order of arming: ties between equal deadlines go to the one armed first (re-armed from disarmed: last). */
  private armSeq = 0;
  constructor(start = 0) { this.t = start; }
  now(): number { return this.t; }
  wakeAt(at: number, cb: () => void): void {
    let w = this.byCb.get(cb);
    if (at === Infinity) {
      if (w !== undefined && w.at !== Infinity) {
        w.at = Infinity;
        this.disarmed++;
        this.dropDisarmedIfMost();
      }
      return;
    }
    if (w === undefined) {
      w = { at, cb, seq: this.armSeq++ };
      this.byCb.set(cb, w);
      this.list.push(w);
      return;
    }
    if (w.at === Infinity) { w.seq = this.armSeq++; this.disarmed--; }
    w.at = at;
  }
  /** Earliest armed wake-up, or Infinity. */
  nextWake(): number {
    const l = this.list;
    let t = Infinity;
    for (let i = 0; i < l.length; i++) if (l[i]!.at < t) t = l[i]!.at;
    return t;
  }
  /** Set the time (never backwards) and fire every wake-up that is due. */
  // The earliest first; ties: the first armed.
  advanceTo(t: number): void {
    if (t > this.t) this.t = t;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const l = this.list;
      let due: Wakeup | null = null;
      for (let i = 0; i < l.length; i++) {
        const w = l[i]!;
        if (w.at <= this.t && (due === null || w.at < due.at || (w.at === due.at && w.seq < due.seq))) due = w;
      }
      if (due === null) break;
      due.at = Infinity;
      this.disarmed++;
      due.cb();
    }
    this.dropDisarmedIfMost();
  }
  /** Disarmed entries go once they are most of the list (and more than a few). */
  private dropDisarmedIfMost(): void {
    if (this.disarmed <= 8 || this.disarmed * 2 <= this.list.length) return;
    const kept: Wakeup[] = [];
    for (const w of this.list) {
      if (w.at === Infinity) this.byCb.delete(w.cb);
      else kept.push(w);
    }
    this.list = kept;
    this.disarmed = 0;
  }
}

/** A RealClock wake-up: the time wanted (`at`, Infinity: not wanted), and the host timer armed for `armedAt` (null: none). */
interface RealWakeup { at: number; armedAt: number; handle: TimerHandle | null }

/** A VirtualClock wake-up: its deadline (Infinity: disarmed), callback and place in the order of arming. */
interface Wakeup { at: number; cb: () => void; seq: number }
