/** An event held back, until it is written with the next event of its call or on its own when its time comes. */
export interface HeldEvent<T> {
  readonly item: T;
  readonly due: number;
  /** Taken: written with its call's next event; the queue drops it. */
  taken: boolean;
}

/**
 * Holds items for a fixed delay, then hands each one not taken meanwhile to `release`. Every item waits the same
 * delay, so the queue is in due order: one timer serves them all, and taking one is O(1). (A timer per call would
 * cost more than the call itself when calls are quick.)
 */
export class HoldBack<T> {
  private queue: Array<HeldEvent<T>> = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly release: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Holds an item; returns the handle to take it back. */
  hold(item: T): HeldEvent<T> {
    const held: HeldEvent<T> = { item, due: this.now() + this.delayMs, taken: false };
    this.queue.push(held);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
    return held;
  }

  /** Drops every held item and the timer. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.head = 0;
  }

  private flush(): void {
    this.timer = undefined;
    const now = this.now();
    while (this.head < this.queue.length && this.queue[this.head].due <= now) {
      const held = this.queue[this.head++];
      if (!held.taken) {
        held.taken = true;
        this.release(held.item);
      }
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.head < this.queue.length) this.timer = setTimeout(() => this.flush(), Math.max(1, this.queue[this.head].due - now));
  }
}
