// Finds any of many fixed strings in a text in one pass: a rolling hash of each needle's last WINDOW characters, checked exactly on a match.
/** Needles shorter than this are not searched: a short value matches by chance, and nothing the stand-ins issue is this short. */
export const MIN_NEEDLE_LENGTH = 16;
const WINDOW = MIN_NEEDLE_LENGTH;
const BASE = 0x01000193;
// BASE^(WINDOW-1) mod 2^32, to drop the character leaving the window.
const DROP = Array.from({ length: WINDOW - 1 }).reduce<number>((power) => Math.imul(power, BASE), 1);
// A bitmap over the hash's top bits answers "no needle ends here" without a Map lookup for nearly every position.
const FILTER_BITS = 22;

export interface IndexedForm<N> {
  readonly needle: N;
  /** The exact characters searched for: the value, or its URL-encoded form. */
  readonly text: string;
  readonly form: 'plain' | 'url-encoded';
}

export interface NeedleMatch<N> {
  readonly needle: N;
  readonly form: 'plain' | 'url-encoded';
  /** Where the match starts in the text, and how long it is. */
  readonly at: number;
  readonly length: number;
}

export interface NeedleIndex<N> {
  /** Distinct needles indexed (each with its URL-encoded form when that differs). */
  readonly size: number;
  /** Needles left out for being shorter than MIN_NEEDLE_LENGTH. */
  readonly tooShort: number;
  find(text: string): NeedleMatch<N>[];
}

function hashOf(text: string, end: number): number {
  let hash = 0;
  for (let index = end - WINDOW; index < end; index += 1) hash = (Math.imul(hash, BASE) + text.charCodeAt(index)) | 0;
  return hash;
}

/** `valueOf` names the secret of each needle; needles with the same value are indexed once (the first wins). */
export function createNeedleIndex<N>(needles: Iterable<N>, valueOf: (needle: N) => string): NeedleIndex<N> {
  const buckets = new Map<number, IndexedForm<N>[]>();
  const filter = new Uint8Array(1 << FILTER_BITS);
  const seen = new Set<string>();
  let tooShort = 0;
  const add = (form: IndexedForm<N>): void => {
    const hash = hashOf(form.text, form.text.length);
    filter[hash >>> (32 - FILTER_BITS)] = 1;
    const bucket = buckets.get(hash);
    if (bucket) bucket.push(form);
    else buckets.set(hash, [form]);
  };
  for (const needle of needles) {
    const value = valueOf(needle);
    if (seen.has(value)) continue;
    seen.add(value);
    if (value.length < MIN_NEEDLE_LENGTH) {
      tooShort += 1;
      continue;
    }
    add({ needle, text: value, form: 'plain' });
    const encoded = encodeURIComponent(value);
    if (encoded !== value) add({ needle, text: encoded, form: 'url-encoded' });
  }

  return {
    size: seen.size - tooShort,
    tooShort,
    find(text) {
      const matches: NeedleMatch<N>[] = [];
      if (text.length < WINDOW || buckets.size === 0) return matches;
      let hash = hashOf(text, WINDOW);
      for (let end = WINDOW; ; end += 1) {
        if (filter[hash >>> (32 - FILTER_BITS)] === 1) {
          for (const form of buckets.get(hash) ?? []) {
            const start = end - form.text.length;
            if (start >= 0 && text.startsWith(form.text, start)) matches.push({ needle: form.needle, form: form.form, at: start, length: form.text.length });
          }
        }
        if (end === text.length) break;
        hash = (Math.imul(hash - Math.imul(text.charCodeAt(end - WINDOW), DROP), BASE) + text.charCodeAt(end)) | 0;
      }
      return matches;
    },
  };
}
