import { describe, expect, it } from 'vitest';
import { lazy, lazyPerOwner } from '../../../shared/async/lazy.js';

describe('lazy', () => {
  it('creates nothing until first use, then keeps the one value', () => {
    let created = 0;
    const value = lazy(() => ({ n: (created += 1) }));
    expect(created).toBe(0);
    const first = value();
    expect(value()).toBe(first);
    expect(created).toBe(1);
  });

  it('does not keep a creation that throws: the next use tries again', () => {
    let attempts = 0;
    const value = lazy(() => {
      attempts += 1;
      if (attempts === 1) throw new Error('not yet');
      return 'made';
    });
    expect(() => value()).toThrow('not yet');
    expect(value()).toBe('made');
    expect(attempts).toBe(2);
  });

  it('shares one pending promise, and forgets it once it rejects', async () => {
    let attempts = 0;
    const value = lazy(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('down');
      return 'up';
    });
    const first = value();
    expect(value()).toBe(first);
    await expect(first).rejects.toThrow('down');
    await expect(value()).resolves.toBe('up');
    await expect(value()).resolves.toBe('up');
    expect(attempts).toBe(2);
  });
});

describe('lazyPerOwner', () => {
  it('keeps one value per owner, and tells whether an owner has one without creating it', () => {
    const values = lazyPerOwner((owner: { name: string }) => ({ of: owner.name }));
    const a = { name: 'a' };
    const b = { name: 'b' };
    expect(values.existing(a)).toBeUndefined();
    const made = values.of(a);
    expect(values.of(a)).toBe(made);
    expect(values.of(b)).toEqual({ of: 'b' });
    expect(values.existing(a)).toBe(made);
  });

  it('does not keep a creation that throws or a promise that rejects', async () => {
    let attempts = 0;
    const values = lazyPerOwner(async (_owner: object) => {
      attempts += 1;
      if (attempts === 1) throw new Error('down');
      return attempts;
    });
    const owner = {};
    await expect(values.of(owner)).rejects.toThrow('down');
    expect(values.existing(owner)).toBeUndefined();
    await expect(values.of(owner)).resolves.toBe(2);
    const failing = lazyPerOwner((_owner: object): number => {
      throw new Error('never');
    });
    expect(() => failing.of(owner)).toThrow('never');
    expect(failing.existing(owner)).toBeUndefined();
  });
});

describe('lazy().take', () => {
  it('hands over the value once and forgets it, so the next use creates a new one', () => {
    let created = 0;
    const value = lazy(() => ({ n: (created += 1) }));
    expect(value.take()).toBeUndefined();
    const first = value();
    expect(value.take()).toBe(first);
    expect(value.take()).toBeUndefined();
    expect(value()).toEqual({ n: 2 });
  });
});
