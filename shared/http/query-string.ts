// The query string of a request target, read without resolving the path.
// `new URL(target, base)` reads a path such as `//x` as a host and throws, which would turn a stray
// request into a 500; the query alone never needs the path, so only the part after `?` is parsed.

export function queryParameters(requestTarget: string): URLSearchParams {
  const queryStart = requestTarget.indexOf('?');
  return new URLSearchParams(queryStart === -1 ? '' : requestTarget.slice(queryStart + 1));
}
