// gRPC handlers of google.cloud.kms.v1.KeyManagementService over the key store, with counters and injected faults.
import * as grpc from '@grpc/grpc-js';
import { crc32c } from '../../shared/crypto/crc32c.js';
import type { KmsFaults } from './faults.js';
import type { CryptoKeyInput, KeyStore } from './key-store.js';
import { KmsStatusError } from './kms-status-error.js';
import { recordKeyBytes } from '../leak-ledger/leak-recorder.js';

export const implementedMethods = [
  'CreateKeyRing',
  'CreateCryptoKey',
  'GetCryptoKey',
  'GetCryptoKeyVersion',
  'ListCryptoKeyVersions',
  'CreateCryptoKeyVersion',
  'UpdateCryptoKeyPrimaryVersion',
  'DestroyCryptoKeyVersion',
  'Encrypt',
  'Decrypt',
] as const;

export type ImplementedMethod = (typeof implementedMethods)[number];

/** Calls received per gRPC method name (failed and unimplemented ones included). */
export type KmsCallCounts = Record<ImplementedMethod, number> & { [method: string]: number };

type Int64Value = { value?: number | string | null } | null | undefined;

// Loose on purpose: proto-loader hands over whatever the client sent, defaults omitted.
interface KmsRequest {
  name?: string;
  parent?: string;
  keyRingId?: string;
  cryptoKeyId?: string;
  cryptoKey?: CryptoKeyInput | null;
  skipInitialVersionCreation?: boolean;
  pageSize?: number;
  pageToken?: string;
  filter?: string;
  cryptoKeyVersionId?: string;
  plaintext?: Buffer | null;
  ciphertext?: Buffer | null;
  additionalAuthenticatedData?: Buffer | null;
  plaintextCrc32c?: Int64Value;
  ciphertextCrc32c?: Int64Value;
  additionalAuthenticatedDataCrc32c?: Int64Value;
}

const bytes = (value: Buffer | null | undefined): Buffer => value ?? Buffer.alloc(0);

function flipBit(data: Buffer): Buffer {
  const copy = Buffer.from(data);
  if (copy.length > 0) copy[copy.length - 1]! ^= 0x01;
  return copy;
}

/** Real KMS: a checksum that arrived is verified, and a mismatch is INVALID_ARGUMENT naming both fields. */
function verifyChecksum(checksumField: string, dataField: string, data: Buffer, checksum: Int64Value): boolean {
  if (checksum === null || checksum === undefined) return false;
  if (crc32c(data) !== Number(checksum.value ?? 0)) {
    throw new KmsStatusError(
      grpc.status.INVALID_ARGUMENT,
      `The checksum in field ${checksumField} did not match the data in field ${dataField}.`,
    );
  }
  return true;
}

function corrupt(response: Record<string, unknown>, field: string): void {
  const value = response[field];
  if (Buffer.isBuffer(value)) response[field] = flipBit(value);
  else if (typeof value === 'boolean') response[field] = false;
  else if (field.endsWith('Crc32c')) {
    const checksum = Number((value as { value: number }).value);
    response[field] = { value: (checksum ^ 0x1) >>> 0 };
  } else if (field === 'name') {
    response[field] = 'projects/elsewhere/locations/global/keyRings/other/cryptoKeys/other/cryptoKeyVersions/1';
  }
}

export function createKmsHandlers(store: KeyStore, faults: KmsFaults): Record<ImplementedMethod, (request: KmsRequest) => unknown> {
  return {
    CreateKeyRing: (r) => store.createKeyRing(r.parent ?? '', r.keyRingId ?? ''),
    CreateCryptoKey: (r) =>
      store.createCryptoKey(r.parent ?? '', r.cryptoKeyId ?? '', r.cryptoKey ?? {}, Boolean(r.skipInitialVersionCreation)),
    GetCryptoKey: (r) => store.getCryptoKey(r.name ?? ''),
    GetCryptoKeyVersion: (r) => store.getCryptoKeyVersion(r.name ?? ''),
    ListCryptoKeyVersions: (r) => store.listCryptoKeyVersions(r.parent ?? '', r.pageSize ?? 0, r.pageToken ?? '', r.filter ?? ''),
    CreateCryptoKeyVersion: (r) => store.createCryptoKeyVersion(r.parent ?? ''),
    UpdateCryptoKeyPrimaryVersion: (r) => store.updateCryptoKeyPrimaryVersion(r.name ?? '', r.cryptoKeyVersionId ?? ''),
    DestroyCryptoKeyVersion: (r) => store.destroyCryptoKeyVersion(r.name ?? ''),
    Encrypt: (r) => {
      let plaintext = bytes(r.plaintext);
      // What a caller wraps is a data key: the whole-run leak check looks for it wherever the broker writes.
      recordKeyBytes('kms:wrapped_plaintext', plaintext);
      if (faults.takeRequestCorruption('Encrypt')) plaintext = flipBit(plaintext);
      const associatedData = bytes(r.additionalAuthenticatedData);
      const verifiedPlaintextCrc32c = verifyChecksum('plaintext_crc32c', 'plaintext', plaintext, r.plaintextCrc32c);
      const verifiedAdditionalAuthenticatedDataCrc32c = verifyChecksum(
        'additional_authenticated_data_crc32c',
        'additional_authenticated_data',
        associatedData,
        r.additionalAuthenticatedDataCrc32c,
      );
      const { versionName, ciphertext } = store.encrypt(r.name ?? '', plaintext, associatedData);
      const response: Record<string, unknown> = {
        name: versionName,
        ciphertext,
        ciphertextCrc32c: { value: crc32c(ciphertext) },
        verifiedPlaintextCrc32c,
        verifiedAdditionalAuthenticatedDataCrc32c,
        protectionLevel: 'SOFTWARE',
      };
      const field = faults.takeResponseCorruption('Encrypt');
      if (field) corrupt(response, field);
      return response;
    },
    Decrypt: (r) => {
      let ciphertext = bytes(r.ciphertext);
      if (faults.takeRequestCorruption('Decrypt')) ciphertext = flipBit(ciphertext);
      const associatedData = bytes(r.additionalAuthenticatedData);
      verifyChecksum('ciphertext_crc32c', 'ciphertext', ciphertext, r.ciphertextCrc32c);
      verifyChecksum(
        'additional_authenticated_data_crc32c',
        'additional_authenticated_data',
        associatedData,
        r.additionalAuthenticatedDataCrc32c,
      );
      const { plaintext, usedPrimary } = store.decrypt(r.name ?? '', ciphertext, associatedData);
      recordKeyBytes('kms:unwrapped_plaintext', plaintext);
      const response: Record<string, unknown> = {
        plaintext,
        plaintextCrc32c: { value: crc32c(plaintext) },
        usedPrimary,
        protectionLevel: 'SOFTWARE',
      };
      const field = faults.takeResponseCorruption('Decrypt');
      if (field) corrupt(response, field);
      return response;
    },
  };
}

/** The grpc-js implementation object: every method of the service, unimplemented ones answering UNIMPLEMENTED. */
export function createServiceImplementation(
  definition: grpc.ServiceDefinition,
  store: KeyStore,
  faults: KmsFaults,
  calls: KmsCallCounts,
): grpc.UntypedServiceImplementation {
  const handlers: Partial<Record<string, (request: KmsRequest) => unknown>> = createKmsHandlers(store, faults);
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(definition)) {
    calls[method] = 0;
    implementation[method] = async (
      call: grpc.ServerUnaryCall<KmsRequest, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      calls[method] = (calls[method] ?? 0) + 1;
      try {
        const latency = faults.latencyFor(method);
        if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
        const failure = faults.takeFailure(method);
        if (failure) throw new KmsStatusError(failure.code, failure.message);
        const handler = handlers[method];
        if (!handler) throw new KmsStatusError(grpc.status.UNIMPLEMENTED, `The KMS stand-in does not implement ${method}.`);
        callback(null, handler(call.request));
      } catch (error) {
        if (error instanceof KmsStatusError) callback({ code: error.code, details: error.message });
        else callback({ code: grpc.status.INTERNAL, details: `KMS stand-in failure: ${String(error)}` });
      }
    };
  }
  return implementation;
}
