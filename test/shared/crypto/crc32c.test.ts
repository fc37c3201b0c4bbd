import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../shared/crypto/crc32c.js';

describe('crc32c', () => {
  it('matches the CRC-32C check value for "123456789"', () => {
    expect(crc32c(Buffer.from('123456789', 'ascii'))).toBe(0xe3069283);
  });

  it('matches the RFC 3720 (iSCSI) test vectors', () => {
    expect(crc32c(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
  });

  it('is 0 for no data and changes when one bit flips', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
    const data = Buffer.from('a wrapped data key');
    const flipped = Buffer.from(data);
    flipped[3]! ^= 0x10;
    expect(crc32c(flipped)).not.toBe(crc32c(data));
  });

  it('reads only the view it is given', () => {
    const backing = Buffer.from('xx123456789yy');
    expect(crc32c(backing.subarray(2, 11))).toBe(0xe3069283);
  });
});
