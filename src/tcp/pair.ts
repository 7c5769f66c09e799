/**
 * Two engines wired back to back in virtual time (the idea of quinn-proto's test `Pair`): segments are
 * delivered after a one-way delay, time jumps straight to the next deadline or arrival. Used by tests,
 * property tests and the engine benchmark. Browser-clean, deterministic.
 */
import { flagsToString, type TcpSegment } from '../wire/tcp-types.js';
import type { TcpStateName } from '../wire/trace.js';
import { TcpConnection, type TcpConnectionOptions, type TcpEvent } from './connection.js';

export type Side = 'a' | 'b';
export type Fate = 'deliver' | 'drop' | 'duplicate';

export interface WireRecord {
  time: number;
  from: Side;
  seg: TcpSegment;
  fate: Fate;
  /** Receiver's state after processing (filled on delivery). */
  stateA?: TcpStateName;
  stateB?: TcpStateName;
}

interface InFlight { at: number; to: Side; seg: TcpSegment; order: number; rec: WireRecord }

export interface PairOptions {
  /** One-way delay in ms (default 10). */
  delay?: number;
  /** Decide each transmitted segment's fate (loss/duplication); default: deliver. */
  fate?: (from: Side, seg: TcpSegment, index: number) => Fate;
  /** Extra per-segment delay (reordering/jitter), ms. */
  jitter?: (from: Side, seg: TcpSegment, index: number) => number;
  /** Keep a record of every segment (default true; the benchmark turns it off). */
  record?: boolean;
}

export class Pair {
  now = 0;
  readonly a: TcpConnection;
  readonly b: TcpConnection;
  readonly log: WireRecord[] = [];
  readonly eventsA: TcpEvent[] = [];
  readonly eventsB: TcpEvent[] = [];
  private flight: InFlight[] = [];
  private order = 0;
  private sent = 0;
  private readonly delay: number;
  private readonly fate?: PairOptions['fate'];
  private readonly jitter?: PairOptions['jitter'];
  private readonly record: boolean;
  /** Called after each delivery/timeout round so tests can act as the application. */
  onStep?: (p: Pair) => void;

  constructor(a: TcpConnectionOptions | TcpConnection, b: TcpConnectionOptions | TcpConnection, opts: PairOptions = {}) {
    this.a = a instanceof TcpConnection ? a : new TcpConnection(a);
    this.b = b instanceof TcpConnection ? b : new TcpConnection(b);
    this.delay = opts.delay ?? 10;
    this.fate = opts.fate;
    this.jitter = opts.jitter;
    this.record = opts.record ?? true;
  }

  conn(side: Side): TcpConnection { return side === 'a' ? this.a : this.b; }

  /** Collect everything both sides want to send now and put it on the wire. */
  flush(): void {
    this.transmit('a');
    this.transmit('b');
  }

  private transmit(from: Side): void {
    const c = this.conn(from);
    const to: Side = from === 'a' ? 'b' : 'a';
    let seg: TcpSegment | null;
    while ((seg = c.pollTransmit(this.now)) !== null) {
      const idx = this.sent++;
      const fate = this.fate ? this.fate(from, seg, idx) : 'deliver';
      const rec: WireRecord = { time: this.now, from, seg, fate };
      if (this.record) this.log.push(rec);
      if (fate === 'drop') continue;
      const extra = this.jitter ? this.jitter(from, seg, idx) : 0;
      this.enqueue({ at: this.now + this.delay + extra, to, seg, order: this.order++, rec });
      if (fate === 'duplicate') this.enqueue({ at: this.now + this.delay + extra + 1, to, seg, order: this.order++, rec });
    }
    this.collect(from);
  }

  private enqueue(f: InFlight): void {
    // Keep sorted by (at, order): insertion from the back, the common case is appending.
    const q = this.flight;
    let i = q.length;
    while (i > 0 && (q[i - 1]!.at > f.at || (q[i - 1]!.at === f.at && q[i - 1]!.order > f.order))) i--;
    q.splice(i, 0, f);
  }

  private collect(side: Side): void {
    const c = this.conn(side);
    const out = side === 'a' ? this.eventsA : this.eventsB;
    let e: TcpEvent | null;
    while ((e = c.pollEvent()) !== null) if (this.record) out.push(e);
  }

  /** Time of the next thing that will happen (arrival or timer), or Infinity. */
  nextTime(): number {
    let t = this.flight.length ? this.flight[0]!.at : Infinity;
    const da = this.a.nextDeadline(), db = this.b.nextDeadline();
    if (da < t) t = da;
    if (db < t) t = db;
    return t;
  }

  /** Advance to the next event and process it. Returns false when nothing is left to do. */
  step(): boolean {
    this.flush();
    const t = this.nextTime();
    if (t === Infinity) return false;
    if (t > this.now) this.now = t;
    // Deliver everything due now.
    while (this.flight.length && this.flight[0]!.at <= this.now) {
      const f = this.flight.shift()!;
      const c = this.conn(f.to);
      c.input(f.seg, this.now);
      if (this.record) { f.rec.stateA = this.a.state; f.rec.stateB = this.b.state; }
      this.transmit(f.to);
    }
    if (this.a.nextDeadline() <= this.now) this.a.onTimeout(this.now);
    if (this.b.nextDeadline() <= this.now) this.b.onTimeout(this.now);
    this.onStep?.(this);
    this.flush();
    return true;
  }

  /** Run until `done` holds (checked after each step) or nothing is left or `maxTime` (virtual ms) passes. */
  run(done: (p: Pair) => boolean = () => false, maxTime = 10 * 60_000, maxSteps = 10_000_000): void {
    let steps = 0;
    while (!done(this) && this.now <= maxTime && steps++ < maxSteps) {
      if (!this.step()) break;
    }
  }

  /** Compact one-line rendering of the wire log, e.g. "a>b SYN seq=100" — handy in assertion messages. */
  describe(relative = true): string[] {
    const issA = this.a.iss, issB = this.b.iss;
    return this.log.map((r) => {
      const s = r.seg;
      const own = r.from === 'a' ? issA : issB;
      const peer = r.from === 'a' ? issB : issA;
      const seq = relative ? (s.seq - own) >>> 0 : s.seq;
      const ack = relative ? (s.ack - peer) >>> 0 : s.ack;
      return `${r.from === 'a' ? 'a>b' : 'b>a'} ${flagsToString(s.flags)} seq=${seq}${s.flags & 0x10 ? ` ack=${ack}` : ''}${s.payload.length ? ` len=${s.payload.length}` : ''}${r.fate !== 'deliver' ? ` [${r.fate}]` : ''}`;
    });
  }
}
