/**
 * Durable timers need a clock that outlives any one setTimeout: a run waiting five days is re-armed after every
 * restart. The queue keeps every due time in one binary heap and one setTimeout for the earliest, so ten thousand
 * waiting runs cost ten thousand heap entries, not ten thousand Node timers.
 */
export class TimerQueue {
  private readonly heap: Array<{ at: number; id: number; fire: () => void }> = [];
  private readonly cancelled = new Set<number>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly now: () => number = Date.now) {}

  /** Calls `fire` at `at` (epoch milliseconds), or at once if that has passed; returns a handle for cancel(). */
  schedule(at: number, fire: () => void): number {
    const id = this.nextId++;
    this.heap.push({ at, id, fire });
    this.up(this.heap.length - 1);
    this.arm();
    return id;
  }

  /** Forgets a scheduled timer. */
  cancel(id: number): void {
    this.cancelled.add(id);
  }

  /** How many timers wait. */
  get size(): number {
    return this.heap.length - this.cancelled.size;
  }

  /** Stops the queue: no timer fires any more. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.length = 0;
    this.cancelled.clear();
  }

  private arm(): void {
    const first = this.heap[0];
    if (!first || first.at >= this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = first.at;
    // setTimeout's delay is a 32-bit number of milliseconds: re-arm on the way to a far-off time.
    const delay = Math.min(Math.max(0, first.at - this.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => this.run(), delay);
  }

  private run(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const entry = this.pop();
      if (this.cancelled.delete(entry.id)) continue;
      entry.fire();
    }
    this.arm();
  }

  private pop(): { at: number; id: number; fire: () => void } {
    const top = this.heap[0];
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].at <= h[i].at) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < h.length && h[l].at < h[smallest].at) smallest = l;
      if (r < h.length && h[r].at < h[smallest].at) smallest = r;
      if (smallest === i) return;
      [h[smallest], h[i]] = [h[i], h[smallest]];
      i = smallest;
    }
  }
}

/** A run's timers in the queue, at most one per key (a step, a call): what it is waiting for the time of. */
export class ArmedTimers {
  private readonly handles = new Map<string, number>();

  constructor(private readonly queue: TimerQueue) {}

  /** Calls `fire` at `at`, unless a timer is armed for `key` already (it stands for the same wait). */
  arm(key: string, at: number, fire: () => void): void {
    if (this.handles.has(key)) return;
    this.handles.set(
      key,
      this.queue.schedule(at, () => {
        this.handles.delete(key);
        fire();
      }),
    );
  }

  /** Forgets the timer of `key`, if any. */
  disarm(key: string): void {
    const handle = this.handles.get(key);
    if (handle !== undefined) this.queue.cancel(handle);
    this.handles.delete(key);
  }

  /** Forgets every timer (the run has ended). */
  clear(): void {
    for (const handle of this.handles.values()) this.queue.cancel(handle);
    this.handles.clear();
  }
}
