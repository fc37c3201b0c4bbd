// Access tokens kept in memory until shortly before they expire, and one in-flight request per distinct token request.
export interface CachedToken<T> {
  readonly value: T;
  /** When the cached value stops being served (already minus the safety margin). */
  readonly useUntilMs: number;
}

export class TokenCache<T> {
  readonly #entries = new Map<string, CachedToken<T>>();
  readonly #inFlight = new Map<string, Promise<T>>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer');
    this.#maxEntries = maxEntries;
  }

  /** The cached value, or the shared result of `load` (which also decides how long its value may be used). */
  async get(key: string, nowMs: () => number, load: () => Promise<CachedToken<T>>): Promise<T> {
    const cached = this.#entries.get(key);
    if (cached !== undefined && cached.useUntilMs > nowMs()) return cached.value;
    if (cached !== undefined) this.#entries.delete(key);
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    const started = load()
      .then((entry) => {
        if (entry.useUntilMs > nowMs()) this.#remember(key, entry);
        return entry.value;
      })
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, started);
    return started;
  }

  clear(): void {
    this.#entries.clear();
  }

  #remember(key: string, entry: CachedToken<T>): void {
    // Oldest first out: Map keeps insertion order.
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, entry);
  }
}
