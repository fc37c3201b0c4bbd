// Builds this instance's IAM-protection proof: its own Cloud Run service, read with the runtime's own credentials.
import { GoogleAuth, gcpMetadata } from 'google-auth-library';
import type { Config } from '../config/config.js';
import { BrokerError } from '../errors/broker-error.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../time/clock.js';
import { readCloudRunServiceAccess } from './cloud-run-admin-api.js';
import { createIamProtectionProof, type IamProtectionProof } from './iam-protection-proof.js';

const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
// Cloud Run's metadata server answers instance/region as projects/NUMBER/regions/REGION.
const metadataRegion = /^projects\/[^/]+\/regions\/([a-z]+-[a-z]+\d+)$/;

export interface OwnServiceIamProofOptions {
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Replaces the metadata-server lookup of the region (tests); CLOUD_RUN_REGION wins over both. */
  readonly regionFromMetadata?: () => Promise<string>;
}

async function metadataServerRegion(): Promise<string> {
  const value: unknown = await gcpMetadata.instance('region');
  const match = typeof value === 'string' ? metadataRegion.exec(value) : null;
  if (!match?.[1]) throw new Error('instance/region is not projects/N/regions/R');
  return match[1];
}

/** Fails at construction, not at the first request, when K_SERVICE is missing. */
export function createOwnServiceIamProof(config: Config, options: OwnServiceIamProofOptions): IamProtectionProof {
  const service = config.runtime.service;
  if (service === undefined) {
    throw new BrokerError('misconfigured', 'K_SERVICE is not set: the service cannot prove that IAM guards it', {
      details: { variables: ['K_SERVICE'] },
    });
  }
  // The library's client is created once; it caches and refreshes the metadata server's access token itself.
  const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE], projectId: config.projectId });
  const regionLookup = options.regionFromMetadata ?? metadataServerRegion;
  let region: string | undefined = config.cloudRun.region;

  const serviceName = async (): Promise<string> => {
    if (region === undefined) {
      try {
        region = await regionLookup();
      } catch (error) {
        throw new BrokerError('identity_unavailable', 'The metadata server did not name this instance\'s region; set CLOUD_RUN_REGION', {
          cause: error,
          retryAfterSeconds: 5,
        });
      }
    }
    return `projects/${config.projectId}/locations/${region}/services/${service}`;
  };

  return createIamProtectionProof({
    clock: options.clock,
    ...(options.logger ? { logger: options.logger } : {}),
    read: async () =>
      readCloudRunServiceAccess(await serviceName(), {
        baseUrl: config.cloudRun.adminApiUrl,
        accessToken: async () => {
          const token = await auth.getAccessToken();
          if (!token) throw new Error('google-auth-library returned no access token');
          return token;
        },
      }),
  });
}
