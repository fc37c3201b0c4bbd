// RFC 6901 JSON pointers: how a data-defined provider says where its identity reply keeps the account's facts.

/** The value at `pointer` in `document`, or undefined where the path does not exist. */
export function readJsonPointer(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  if (!pointer.startsWith('/')) throw new TypeError('a JSON pointer starts with "/"');
  let current: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    const name = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(name)) return undefined;
      current = current[Number(name)];
    } else if (current !== null && typeof current === 'object' && Object.hasOwn(current, name)) {
      current = (current as Record<string, unknown>)[name];
    } else {
      return undefined;
    }
  }
  return current;
}
