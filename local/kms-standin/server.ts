// Starts the local Cloud KMS stand-in: a loopback gRPC server that the real @google-cloud/kms client talks to.
import * as grpc from '@grpc/grpc-js';
import { type Clock, systemClock } from '../../shared/time/clock.js';
import { KmsFaults } from './faults.js';
import { KeyStore } from './key-store.js';
import { loadKeyManagementService } from './protos.js';
import { parseCryptoKeyName, requireCryptoKey } from './resource-names.js';
import { type KmsCallCounts, createServiceImplementation, implementedMethods } from './service.js';

export interface KmsStandinOptions {
  /** Persist keys in `<dataDir>/kms-standin.json` so they survive restarts; in memory when unset. */
  readonly dataDir?: string;
  /** A loopback address only: the stand-in speaks plaintext gRPC. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Drives scheduled rotations and destructions; the system clock by default. */
  readonly clock?: Clock;
}

export interface EnsureKeyOptions {
  /** Turns on scheduled rotation (at least one day), first due one period from now. */
  readonly rotationPeriodSeconds?: number;
}

export interface KmsStandin {
  /** `host:port`, what KMS_API_ENDPOINT takes. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  /** Calls received per method since start or the last `resetCounters()`. */
  readonly calls: Readonly<KmsCallCounts>;
  resetCounters(): void;
  readonly faults: KmsFaults;
  /** Creates the key ring and the ENCRYPT_DECRYPT key (with version 1 as primary) unless they exist. */
  ensureKey(keyName: string, options?: EnsureKeyOptions): void;
  /** Adds a version to the key and makes it primary; returns the new version's name. */
  rotate(keyName: string): string;
  stop(): Promise<void>;
}

const loopback = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1|\[::1\])$/;

export async function startKmsStandin(options: KmsStandinOptions = {}): Promise<KmsStandin> {
  const host = options.host ?? '127.0.0.1';
  if (!loopback.test(host)) throw new TypeError('The KMS stand-in listens on loopback only');
  const clock = options.clock ?? systemClock;
  const store = new KeyStore({ clock, dataDir: options.dataDir });
  const faults = new KmsFaults();
  const calls = Object.fromEntries(implementedMethods.map((method) => [method, 0])) as KmsCallCounts;
  const definition = loadKeyManagementService();
  const server = new grpc.Server();
  server.addService(definition, createServiceImplementation(definition, store, faults, calls));

  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const address = bare.includes(':') ? `[${bare}]` : bare;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${address}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });

  return {
    endpoint: `${address}:${port}`,
    host: address,
    port,
    calls,
    faults,
    resetCounters() {
      for (const method of Object.keys(calls)) calls[method] = 0;
    },
    ensureKey(keyName, ensureOptions = {}) {
      requireCryptoKey(keyName);
      const { keyRing } = parseCryptoKeyName(keyName)!;
      if (!store.hasKeyRing(keyRing)) {
        const [, parent, keyRingId] = /^(.*)\/keyRings\/([^/]+)$/.exec(keyRing)!;
        store.createKeyRing(parent!, keyRingId!);
      }
      if (store.hasCryptoKey(keyName)) return;
      const cryptoKeyId = keyName.slice(keyRing.length + '/cryptoKeys/'.length);
      const period = ensureOptions.rotationPeriodSeconds;
      const nextMs = period === undefined ? undefined : clock.nowMs() + period * 1000;
      store.createCryptoKey(
        keyRing,
        cryptoKeyId,
        {
          purpose: 'ENCRYPT_DECRYPT',
          ...(period === undefined ? {} : { rotationPeriod: { seconds: period } }),
          ...(nextMs === undefined ? {} : { nextRotationTime: { seconds: Math.floor(nextMs / 1000), nanos: 0 } }),
        },
        false,
      );
    },
    rotate(keyName) {
      return store.rotate(keyName);
    },
    async stop() {
      await new Promise<void>((resolve) => {
        // Open client channels must not hold the process: give in-flight calls a moment, then cut.
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
