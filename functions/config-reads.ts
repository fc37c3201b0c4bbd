// What each function's code reads from its configuration, by section. loadConfig enforces it (reading another
// section throws, naming the function), and a test compares it with what functions/manifest.json gives each function.
import { type Config, type ConfigSection, processEnvironmentConfig } from '../shared/config/config.js';
import type { FunctionName } from './names.js';

export const functionConfigReads = {
  // No provider secret: the authorization URL needs only the client id (OAuth 1.0a's signed request-token call is made
  // by the start step, in callback).
  authorize: ['firestore', 'kms', 'callerIdentity', 'providers', 'providerClientIds', 'callerPolicy', 'quotas', 'connect'],
  // Public: no caller identity or policy; it exchanges codes, so it holds the client secrets.
  callback: ['firestore', 'kms', 'providers', 'providerClients', 'connect', 'refresh', 'events'],
  connections: ['firestore', 'kms', 'callerIdentity', 'providers', 'providerClients', 'callerPolicy', 'quotas', 'refresh', 'events', 'sweeps'],
  token: ['firestore', 'kms', 'callerIdentity', 'providers', 'providerClients', 'callerPolicy', 'quotas', 'refresh', 'tokenCache', 'events'],
  // As token (it refreshes the same way), less quotas: a proxied call is metered by the provider's own limits.
  proxy: ['firestore', 'kms', 'callerIdentity', 'providers', 'providerClients', 'callerPolicy', 'refresh', 'tokenCache', 'events'],
  admin: ['firestore', 'kms', 'callerIdentity', 'providers', 'providerClients', 'refresh', 'events', 'admin', 'sweeps'],
  refresh: ['firestore', 'kms', 'callerIdentity', 'providers', 'providerClients', 'refresh', 'events', 'scheduler', 'cloudRun', 'sweeps'],
  health: ['firestore', 'kms', 'callerIdentity', 'providers', 'providerClients', 'refresh', 'events', 'scheduler', 'cloudRun', 'sweeps'],
} as const satisfies Record<FunctionName, readonly ConfigSection[]>;

/** The configuration of one function, from process.env, restricted to the sections it declares above. */
export function functionConfig(functionName: FunctionName): Config {
  return processEnvironmentConfig({ functionName, sections: functionConfigReads[functionName] });
}
