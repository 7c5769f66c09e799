/**
 * A binary min-heap of (deadline, item) for one-shot items that are never moved (the stack's user timers,
 * Stack.schedule: a cancelled one is skipped when it comes up). Items whose deadline moves (connections, socket
 * idle timeouts) live in an IndexedTimerHeap below instead, so nothing stale keeps them alive.
 */
export class TimerHeap<T> {
  private at: number[] = [];
  private items: T[] = [];

  get size(): number { return this.at.length; }

  push(deadline: number, item: T): void {
    if (deadline === Infinity) return;
    const a = this.at, it = this.items;
    let i = a.length;
    a.push(deadline); it.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= deadline) break;
      a[i] = a[p]!; it[i] = it[p]!;
      i = p;
    }
    a[i] = deadline; it[i] = item;
  }

  peekTime(): number { return this.at.length ? this.at[0]! : Infinity; }

  /** Remove and return the earliest item. */
  pop(): T | undefined {
    const a = this.at, it = this.items;
    if (a.length === 0) return undefined;
    const top = it[0]!;
    const lastA = a.pop()!, lastI = it.pop()!;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && a[r]! < a[l]! ? r : l;
        if (a[c]! >= lastA) break;
        a[i] = a[c]!; it[i] = it[c]!;
        i = c;
      }
      a[i] = lastA; it[i] = lastI;
    }
    return top;
  }
}

/** An IndexedTimerHeap that empties after holding more than this many items lets its arrays go. */
const RELEASE_AFTER = 4096;

/** An item of an IndexedTimerHeap: where it sits in the heap, -1 while it is not armed. */
export interface HeapSlot { heapIndex: number }

/**
 * A binary min-heap of items by deadline in which each item is at most once and knows its place (heapIndex):
 * a new deadline moves it, Infinity or delete() takes it out. No stale entries: a connection that closed is
 * not kept alive by its old deadlines (with lazy invalidation, ~1 000 dead connections per stack waited for a
 * deadline or a compaction in a run of short connections, surviving young-generation collections).
 */
export class IndexedTimerHeap<T extends HeapSlot> {
  private at: number[] = [];
  private items: T[] = [];
  /** The most items held since the arrays were last made: emptied after a burst, they are made again (below). */
  private peak = 0;

  get size(): number { return this.at.length; }

  peekTime(): number { return this.at.length ? this.at[0]! : Infinity; }

  /** The deadline `item` is armed at, Infinity when it is not. */
  deadlineOf(item: T): number { return item.heapIndex >= 0 ? this.at[item.heapIndex]! : Infinity; }

  /** Arms `item` at `deadline`, moving it if it is armed; Infinity disarms it. */
  set(item: T, deadline: number): void {
    const i = item.heapIndex;
    if (deadline === Infinity) { if (i >= 0) this.removeAt(i); return; }
    if (i < 0) {
      const n = this.at.length;
      this.at.push(deadline); this.items.push(item);
      if (n >= this.peak) this.peak = n + 1;
      this.up(n, deadline, item);
      return;
    }
    const old = this.at[i]!;
    if (deadline < old) this.up(i, deadline, item);
    else if (deadline > old) this.down(i, deadline, item);
  }

  /** Disarms `item` if it is armed. */
  delete(item: T): void {
    if (item.heapIndex >= 0) this.removeAt(item.heapIndex);
  }

  /** Removes and returns the earliest item, now disarmed. */
  pop(): T | undefined {
    if (this.at.length === 0) return undefined;
    const top = this.items[0]!;
    this.removeAt(0);
    return top;
  }

  private removeAt(i: number): void {
    const a = this.at, it = this.items;
    it[i]!.heapIndex = -1;
    const lastA = a.pop()!, lastI = it.pop()!;
    if (a.length === 0 && this.peak > RELEASE_AFTER) {
      // Empty after a burst (100 000 connections closing): the arrays keep their room (~12 B a slot), so new ones.
      this.at = []; this.items = []; this.peak = 0;
      return;
    }
    if (i === a.length) return; // it was the last
    if (i > 0 && lastA < a[(i - 1) >> 1]!) this.up(i, lastA, lastI);
    else this.down(i, lastA, lastI);
  }

  /** Puts `item` with `d` at `i` or above it. */
  private up(i: number, d: number, item: T): void {
    const a = this.at, it = this.items;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= d) break;
      a[i] = a[p]!; const x = it[i] = it[p]!; x.heapIndex = i;
      i = p;
    }
    a[i] = d; it[i] = item; item.heapIndex = i;
  }

  /** Puts `item` with `d` at `i` or below it. */
  private down(i: number, d: number, item: T): void {
    const a = this.at, it = this.items;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]! < a[l]! ? r : l;
      if (a[c]! >= d) break;
      a[i] = a[c]!; const x = it[i] = it[c]!; x.heapIndex = i;
      i = c;
    }
    a[i] = d; it[i] = item; item.heapIndex = i;
  }
}
