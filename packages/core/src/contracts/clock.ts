/** A monotonic clock in nanoseconds. Real in production, manual in deterministic tests. */
export interface Clock {
  /** Monotonic time in nanoseconds (a double; exact to well below a microsecond for centuries of uptime). */
  now(): number;
  /** True for a clock that only moves when told to (deterministic tests). */
  readonly manual: boolean;
}

/** The real monotonic clock (`performance.now()` scaled to nanoseconds). */
export class MonotonicClock implements Clock {
  readonly manual = false;
  now(): number {
    return performance.now() * 1e6;
  }
}

/** A clock that only moves when {@link ManualClock.advance} is called. */
export class ManualClock implements Clock {
  readonly manual = true;
  #now: number;
  #listeners: Array<(now: number) => void> = [];

  constructor(startNs = 0) {
    this.#now = startNs;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ns` and tells listeners (the kernel fires due timeouts). */
  advance(ns: number): void {
    if (!(ns >= 0)) throw new RangeError('ManualClock.advance: ns must be >= 0');
    this.#now += ns;
    for (const l of this.#listeners) l(this.#now);
  }

  /** Registers a listener called after each advance; returns an unsubscribe function. */
  onAdvance(listener: (now: number) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }
}
