// Creates the Cloud KMS client lazily, once, on the first KMS call: @google-cloud/kms costs ~0.7 s to load.
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { lazy } from '../async/lazy.js';

/** The three RPCs the vault uses; the full client satisfies it. */
export type KmsApi = Pick<KeyManagementServiceClient, 'encrypt' | 'decrypt' | 'getCryptoKey' | 'close'>;

export interface KmsClientOptions {
  /**
   * A loopback `host:port` of the local KMS stand-in, reached over plaintext gRPC with no Google
   * credentials. Unset in production: the default endpoint with TLS and Application Default Credentials.
   */
  readonly apiEndpoint?: string | undefined;
}

export interface KmsClientSource {
  get(): Promise<KmsApi>;
  /** Closes the client if one was created; the next `get()` creates a new one. */
  close(): Promise<void>;
}

function splitHostPort(endpoint: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(endpoint);
  if (!match) throw new TypeError('The KMS API endpoint must be host:port');
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) };
}

async function createClient(options: KmsClientOptions): Promise<KmsApi> {
  const { KeyManagementServiceClient } = await import('@google-cloud/kms');
  if (options.apiEndpoint === undefined) return new KeyManagementServiceClient();
  const { host, port } = splitHostPort(options.apiEndpoint);
  // The channel credentials must come from the same grpc-js that google-gax uses (there is one copy).
  const grpc = await import('@grpc/grpc-js');
  return new KeyManagementServiceClient({
    apiEndpoint: host,
    port,
    // With sslCreds set, google-gax never asks google-auth-library for credentials, and an explicit
    // universe domain stops it from asking the metadata server for one: the stand-in needs no network.
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  });
}

/** One client per source, created on first use; a failed creation is forgotten so the next call retries. */
export function createKmsClientSource(options: KmsClientOptions): KmsClientSource {
  if (options.apiEndpoint !== undefined) splitHostPort(options.apiEndpoint);
  const client = lazy(() => createClient(options));
  return {
    get: () => client(),
    async close() {
      const current = client.take();
      if (!current) return;
      const opened = await current.catch(() => undefined);
      await opened?.close();
    },
  };
}
