/**
 * Sockets' idle timeouts (Socket#setTimeout), one IdleTimers per stack. Apart from socket.ts: a timer structure
 * of its own, which only needs a socket's heap slot, deadline and idleExpired. No Node import.
 */
import type { Stack, UserTimer } from './stack.js';
import type { Socket } from './socket.js';
import { IndexedTimerHeap } from './timer-heap.js';

/**
 * The idle timeouts (Socket#setTimeout) of one stack's sockets: a heap of sockets by deadline and one stack
 * timer (Stack.schedule) for the earliest, so an armed socket is a heap entry, not a closure and a timer
 * object of its own. Each socket is in the heap at most once (IndexedTimerHeap, as the stack's connections):
 * re-arming moves it, and a closed socket leaves nothing behind that would keep it alive.
 */
class IdleTimers {
  private readonly heap = new IndexedTimerHeap<Socket>();
  private timer: UserTimer | null = null;
  private readonly fire = (): void => this.expire();
  /** In expire(): sockets re-arming there leave the next stack timer to it. */
  private expiring = false;
  constructor(private readonly stack: Stack) {}

  arm(s: Socket, at: number): void {
    if (s.idleAt === at) return;
    s.idleAt = at;
    this.heap.set(s, at);
    const t = this.timer;
    if (!this.expiring && (t === null || at < t.at)) {
      if (t !== null) t.cancelled = true;
      this.timer = this.stack.schedule(at, this.fire);
    }
  }

  disarm(s: Socket): void {
    s.idleAt = Infinity;
    this.heap.delete(s);
  }

  private expire(): void {
    this.timer = null;
    const now = this.stack.clock.now();
    const h = this.heap;
    this.expiring = true;
    try {
      while (h.peekTime() <= now) {
        const s = h.pop()!;
        s.idleAt = Infinity;
        s.idleExpired(now);
      }
    } finally {
      // The next deadline, even when a 'timeout' listener threw.
      this.expiring = false;
      if (h.size > 0) this.timer = this.stack.schedule(h.peekTime(), this.fire);
    }
  }
}

/** The IdleTimers of `stack`, made when its first socket arms a timeout. */
const idleTimers = new WeakMap<Stack, IdleTimers>();
export function idleTimersOf(stack: Stack): IdleTimers {
  let t = idleTimers.get(stack);
  if (t === undefined) { t = new IdleTimers(stack); idleTimers.set(stack, t); }
  return t;
}
