// CRC32C (Castagnoli), the checksum Cloud KMS uses for end-to-end integrity fields; pure TypeScript, no native addon.

// Reflected polynomial 0x1EDC6F41, as in RFC 3720 (iSCSI) and the KMS data integrity guide.
const POLYNOMIAL = 0x82f63b78;

const table = (() => {
  const entries = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    entries[n] = c >>> 0;
  }
  return entries;
})();

/** The CRC32C of `data` as an unsigned 32-bit integer (what KMS sends in its Int64Value checksum fields). */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    crc = (table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8)) >>> 0;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
