// The real @google-cloud/kms client, pointed at a KMS stand-in over plaintext loopback gRPC with no Google credentials.
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';

export function createStandinClient(endpoint: string): KeyManagementServiceClient {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(endpoint);
  if (!match) throw new TypeError('endpoint must be host:port');
  return new KeyManagementServiceClient({
    apiEndpoint: match[1]!.replace(/^\[(.*)\]$/, '$1'),
    port: Number(match[2]),
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  });
}
