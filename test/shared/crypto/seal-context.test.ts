import { describe, expect, it } from 'vitest';
import { encodeAssociatedData, parseSealContext } from '../../../shared/crypto/seal-context.js';

const base = { collection: 'connections', documentId: 'conn-1', field: 'credentials', tenantId: 'acme' };

describe('encodeAssociatedData', () => {
  it('encodes the same context to the same bytes', () => {
    expect(encodeAssociatedData(base).equals(encodeAssociatedData({ ...base }))).toBe(true);
  });

  it('gives every part its own bytes, so shifting a separator does not collide', () => {
    const a = encodeAssociatedData({ ...base, collection: 'a/b', documentId: 'c' });
    const b = encodeAssociatedData({ ...base, collection: 'a', documentId: 'b/c' });
    const swapped = encodeAssociatedData({ ...base, documentId: base.field, field: base.documentId });
    expect(a.equals(b)).toBe(false);
    expect(swapped.equals(encodeAssociatedData(base))).toBe(false);
  });

  it('changes when any one part changes', () => {
    const original = encodeAssociatedData(base);
    for (const key of Object.keys(base) as (keyof typeof base)[]) {
      expect(encodeAssociatedData({ ...base, [key]: `${base[key]}x` }).equals(original)).toBe(false);
    }
  });
});

describe('parseSealContext', () => {
  it('refuses a context with a missing, empty or extra part as a caller mistake', () => {
    expect(() => parseSealContext({ ...base, tenantId: '' })).toThrow(TypeError);
    expect(() => parseSealContext({ collection: 'c', documentId: 'd', field: 'f' })).toThrow(/tenantId/);
    expect(() => parseSealContext({ ...base, extra: 'x' })).toThrow(TypeError);
  });
});
