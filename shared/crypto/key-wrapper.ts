// The narrow interface the vault needs from a key-encryption service; Cloud KMS implements it.

export interface WrappedDataKey {
  readonly wrappedKey: Buffer;
  /** The CryptoKeyVersion resource name that wrapped the key (stored beside the ciphertext). */
  readonly keyVersionName: string;
}

export interface KeyWrapper {
  /** The CryptoKey resource name every wrap and unwrap goes through. */
  readonly keyName: string;
  /** Wraps a data key under the key's current primary version, bound to `associatedData`. */
  wrap(dataKey: Buffer, associatedData: Buffer): Promise<WrappedDataKey>;
  /** Unwraps a data key; fails unless `associatedData` is exactly what it was wrapped with. */
  unwrap(wrappedKey: Buffer, associatedData: Buffer): Promise<Buffer>;
  /** The name of the key's current primary CryptoKeyVersion. */
  primaryVersion(): Promise<string>;
  /** Releases network resources; the wrapper may be used again afterwards (it reconnects lazily). */
  close(): Promise<void>;
}
