// An injectable clock, so expiry windows and backoff are testable without sleeping.
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

export const systemClock: Clock = Object.freeze({ nowMs: () => Date.now() });

/** A clock that only moves when told to: for tests and simulations. */
export class ManualClock implements Clock {
  #now: number;

  constructor(startMs = Date.UTC(2030, 0, 1)) {
    this.#now = startMs;
  }

  nowMs(): number {
    return this.#now;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError('ManualClock.advance needs a finite, non-negative ms');
    this.#now += ms;
  }

  set(ms: number): void {
    this.#now = ms;
  }
}
