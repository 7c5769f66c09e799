/**
 * A binary min-heap of (deadline, item) with lazy invalidation: an item is pushed again whenever its deadline
 * changes; stale entries are recognised at pop time by comparing with the item's current deadline. One heap
 * serves every connection of a stack, so 100 000 idle connections cost nothing per tick.
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

  /** Remove and return the earliest item (with its deadline in `lastTime`). */
  pop(): T | undefined {
    const a = this.at, it = this.items;
    if (a.length === 0) return undefined;
    const top = it[0]!;
    this.lastTime = a[0]!;
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
  lastTime = 0;

  /** Drop entries for which `keep` is false (compaction when stale entries pile up). */
  compact(keep: (deadline: number, item: T) => boolean): void {
    const a = this.at, it = this.items;
    this.at = []; this.items = [];
    for (let i = 0; i < a.length; i++) if (keep(a[i]!, it[i]!)) this.push(a[i]!, it[i]!);
  }
}
