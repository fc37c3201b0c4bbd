import { describe, expect, it } from 'vitest';
import { queryParameters } from '../../../shared/http/query-string.js';

describe('queryParameters', () => {
  it('reads the query of an ordinary request target', () => {
    expect(Object.fromEntries(queryParameters('/api/connections?tenantId=t1&limit=5'))).toEqual({ tenantId: 't1', limit: '5' });
  });

  it('reads targets that new URL() would take for a host or reject', () => {
    expect(Object.fromEntries(queryParameters('//x?a=1'))).toEqual({ a: '1' });
    expect(Object.fromEntries(queryParameters('//[::1?b=2'))).toEqual({ b: '2' });
    expect(() => new URL('//[::1?b=2', 'http://base.invalid')).toThrow();
  });

  it('gives an empty set without a query, and keeps everything after the first ?', () => {
    expect([...queryParameters('/')]).toEqual([]);
    expect(queryParameters('/?next=/a?b').get('next')).toBe('/a?b');
  });
});
