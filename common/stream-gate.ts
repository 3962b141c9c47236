/** How many of the extension's latest event seqs are remembered: far more than can be in flight at once. */
const REMEMBERED = 4096;

/**
 * When the dashboard may use the events it reads straight from the sidecar (see sidecar/host/event-stream.ts) beside
 * those the extension relays. Both come in the order the sidecar gave them out (not seq order: a new run's first
 * event can go ahead), and each connection of the direct stream starts with the seq of the last event given out
 * before it. Direct events are safe to fold once the relayed ones have reached that event: every earlier event is
 * then folded, and from there on both streams carry every event, so a run's events are folded once each, in order,
 * from whichever stream brings them first (the other copy is stale).
 */
export class StreamGate {
  private readonly relayed = new Set<number>();
  private after: number | undefined;
  private open = false;

  /** An event the extension relayed (or the last one its snapshot holds: 0 for none). */
  relayedEvent(seq: number): void {
    if (seq === this.after) this.open = true;
    this.relayed.add(seq);
    if (this.relayed.size > REMEMBERED) this.relayed.delete(this.relayed.values().next().value as number);
  }

  /** A direct connection began after the event `after` (0: before any event of this sidecar). */
  hello(after: number): void {
    this.after = after;
    this.open = after === 0 || this.relayed.has(after);
  }

  /** The direct connection dropped: its events are not used until the next hello. */
  lost(): void {
    this.after = undefined;
    this.open = false;
  }

  /** Whether direct events may be folded now. */
  get usable(): boolean {
    return this.open;
  }
}
