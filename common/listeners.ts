/**
 * The listeners of one kind of notice, called in turn. One that throws neither stops the others nor fails what
 * notified them: a client that went away must not fail a tool call or a run.
 */
export class Listeners<T> {
  private readonly all = new Set<(value: T) => void>();

  /** Adds a listener; returns the function that removes it. */
  add(listener: (value: T) => void): () => void {
    this.all.add(listener);
    return () => this.all.delete(listener);
  }

  /** Calls every listener with `value`. */
  emit(value: T): void {
    for (const listener of this.all) {
      try {
        listener(value);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}
