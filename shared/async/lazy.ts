// The one way to create something on first use and keep it: `lazy` for one value, `lazyPerOwner` for one per owner
// object (a runtime, say). A creation that fails is not kept — a throw, or a promise that rejects — so the next
// use tries again instead of replaying a failure for the life of the process.

/** Calls `forget` if `value` is a promise that rejects (the rejection itself still reaches whoever awaits it). */
function forgetIfRejected(value: unknown, forget: () => void): void {
  if (value instanceof Promise) value.catch(forget);
}

export interface Lazy<T> {
  /** The value, created now if there is none. */
  (): T;
  /** The value if one was created, forgotten here (for closing it): the next use creates a new one. */
  take(): T | undefined;
}

export function lazy<T>(create: () => T): Lazy<T> {
  let made: { readonly value: T } | undefined;
  const get = () => {
    if (made === undefined) {
      const kept = { value: create() };
      made = kept;
      forgetIfRejected(kept.value, () => {
        if (made === kept) made = undefined;
      });
    }
    return made.value;
  };
  const take = () => {
    const value = made?.value;
    made = undefined;
    return value;
  };
  return Object.assign(get, { take });
}

export interface LazyPerOwner<K extends object, T> {
  /** The owner's value, created now if it has none. */
  of(owner: K): T;
  /** The owner's value if one was created, without creating one. */
  existing(owner: K): T | undefined;
}

/** One value per owner, dropped with the owner (a WeakMap holds them). */
export function lazyPerOwner<K extends object, T>(create: (owner: K) => T): LazyPerOwner<K, T> {
  const made = new WeakMap<K, { readonly value: T }>();
  return {
    of(owner) {
      let kept = made.get(owner);
      if (kept === undefined) {
        const created = { value: create(owner) };
        kept = created;
        made.set(owner, created);
        forgetIfRejected(created.value, () => {
          if (made.get(owner) === created) made.delete(owner);
        });
      }
      return kept.value;
    },
    existing: (owner) => made.get(owner)?.value,
  };
}
