// Loads google.cloud.kms.v1.KeyManagementService from the .proto files that ship inside node_modules.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

// google-gax does not export its package.json, so walk up from its entry point to the package folder.
function packageRoot(name: string, from?: string): string {
  let dir = path.dirname(require.resolve(name, from ? { paths: [from] } : undefined));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the package folder of ${name}`);
    dir = parent;
  }
}

/** The KMS protos (from @google-cloud/kms) and their imports (google/api, google/longrunning, ... from google-gax). */
export function kmsProtoPaths(): { serviceProto: string; includeDirs: string[] } {
  const kmsRoot = packageRoot('@google-cloud/kms');
  const gaxRoot = packageRoot('google-gax', kmsRoot);
  return {
    serviceProto: 'google/cloud/kms/v1/service.proto',
    includeDirs: [path.join(kmsRoot, 'build', 'protos'), path.join(gaxRoot, 'build', 'protos')],
  };
}

/** The service definition, decoded the way the handlers expect: camelCase fields, enums as names, int64 as numbers. */
export function loadKeyManagementService(): grpc.ServiceDefinition {
  const { serviceProto, includeDirs } = kmsProtoPaths();
  const definition = protoLoader.loadSync(serviceProto, {
    includeDirs,
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: { cloud: { kms: { v1: { KeyManagementService: grpc.ServiceClientConstructor } } } };
  };
  return loaded.google.cloud.kms.v1.KeyManagementService.service;
}
