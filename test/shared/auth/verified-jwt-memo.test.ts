import { describe, expect, it } from 'vitest';
import { createVerifiedJwtMemo } from '../../../shared/auth/verified-jwt-memo.js';

describe('verified JWT memo', () => {
  it('recalls a verified token only until its expiry', () => {
    const memo = createVerifiedJwtMemo(10);
    memo.remember('token-a', { sub: 'a', exp: 1_000 }, 'key-1');
    expect(memo.recall('token-a', 999_999)).toMatchObject({ payload: { sub: 'a', exp: 1_000 }, kid: 'key-1' });
    expect(memo.recall('token-a', 1_000_000)).toBeUndefined();
    // Forgotten for good once expired, even if the clock were to step back.
    expect(memo.recall('token-a', 0)).toBeUndefined();
  });

  it('never recalls a token it was not given, nor one without an expiry', () => {
    const memo = createVerifiedJwtMemo(10);
    memo.remember('token-a', { sub: 'a', exp: 1_000 }, 'key-1');
    memo.remember('token-b', { sub: 'b' }, 'key-1');
    expect(memo.recall('token-a.', 0)).toBeUndefined();
    expect(memo.recall('token-b', 0)).toBeUndefined();
  });

  it('holds at most its bound, dropping the oldest', () => {
    const memo = createVerifiedJwtMemo(2);
    for (const name of ['one', 'two', 'three']) memo.remember(name, { sub: name, exp: 1_000 }, 'key-1');
    expect(memo.recall('one', 0)).toBeUndefined();
    expect(memo.recall('two', 0)?.payload.sub).toBe('two');
    expect(memo.recall('three', 0)?.payload.sub).toBe('three');
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => createVerifiedJwtMemo(0)).toThrow(TypeError);
  });
});
