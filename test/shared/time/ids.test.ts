import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/time/clock.js';
import { cryptoIdSource, sequentialIdSource } from '../../../shared/time/ids.js';

describe('id sources', () => {
  it('makes secret tokens of the requested entropy, all different', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => cryptoIdSource.secretToken(32)));
    expect(tokens.size).toBe(1000);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses weak secret tokens', () => {
    expect(() => cryptoIdSource.secretToken(8)).toThrow(TypeError);
  });

  it('gives deterministic ids for tests', () => {
    const ids = sequentialIdSource('conn');
    expect([ids.newId(), ids.newId()]).toEqual(['conn-1', 'conn-2']);
  });
});

describe('ManualClock', () => {
  it('moves only when told', () => {
    const clock = new ManualClock(1_000);
    expect(clock.nowMs()).toBe(1_000);
    clock.advance(500);
    expect(clock.nowMs()).toBe(1_500);
    expect(() => clock.advance(-1)).toThrow(TypeError);
  });
});
