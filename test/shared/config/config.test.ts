import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/config.js';
import { BrokerError } from '../../../shared/errors/broker-error.js';

const minimal = { GOOGLE_CLOUD_PROJECT: 'acme-prod' };

describe('loadConfig', () => {
  it('applies defaults and freezes the result, deeply', () => {
    const config = loadConfig(minimal);
    expect(config.projectId).toBe('acme-prod');
    expect(config.firestore.databaseId).toBe('(default)');
    expect(config.kms.dataKeyCacheTtlMs).toBe(300_000);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.kms)).toBe(true);
    expect(() => {
      (config.kms as { keyName: string | undefined }).keyName = 'x';
    }).toThrow(TypeError);
  });

  it('names every invalid variable and never echoes a value', () => {
    const secretLooking = 'projects/p/secret-value-123';
    let error: unknown;
    try {
      loadConfig({ KMS_KEY_NAME: secretLooking, KMS_API_ENDPOINT: 'kms.example.com:443', LOG_LEVEL: 'LOUD' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BrokerError);
    const brokerError = error as BrokerError;
    expect(brokerError.code).toBe('misconfigured');
    expect(brokerError.details?.variables).toEqual(
      expect.arrayContaining(['GOOGLE_CLOUD_PROJECT', 'KMS_KEY_NAME', 'KMS_API_ENDPOINT', 'LOG_LEVEL']),
    );
    expect(brokerError.message).not.toContain(secretLooking);
  });

  it('only lets the unencrypted KMS endpoint point at loopback', () => {
    expect(loadConfig({ ...minimal, KMS_API_ENDPOINT: '127.0.0.1:7001' }).kms.apiEndpoint).toBe('127.0.0.1:7001');
    expect(() => loadConfig({ ...minimal, KMS_API_ENDPOINT: '10.0.0.5:7001' })).toThrow(/KMS_API_ENDPOINT/);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ ...minimal, FIRESTORE_EMULATOR_HOST: '' }).firestore.emulatorHost).toBeUndefined();
  });
});

describe('PROVIDER_ENDPOINT_ALLOWLIST', () => {
  it('parses exact https servers and origins per provider, and none when unset', () => {
    const value = JSON.stringify({ smart_on_fhir: { issuers: ['https://fhir.hospital.example/r4'], origins: ['https://auth.hospital.example'] } });
    expect(loadConfig({ ...minimal, PROVIDER_ENDPOINT_ALLOWLIST: value }).providers.endpointAllowlist).toEqual({
      smart_on_fhir: { issuers: ['https://fhir.hospital.example/r4'], origins: ['https://auth.hospital.example'] },
    });
    expect(loadConfig(minimal).providers.endpointAllowlist).toEqual({});
  });

  it('refuses plain http, a trailing slash, a query, an origin with a path and a key that is no provider id', () => {
    for (const entry of [
      { smart_on_fhir: { issuers: ['http://fhir.hospital.example/r4'] } },
      { smart_on_fhir: { issuers: ['https://fhir.hospital.example/r4/'] } },
      { smart_on_fhir: { issuers: ['https://fhir.hospital.example/r4?x=1'] } },
      { smart_on_fhir: { origins: ['https://auth.hospital.example/oauth2'] } },
      { 'SMART on FHIR': { issuers: ['https://fhir.hospital.example/r4'] } },
      { smart_on_fhir: { issuers: ['https://fhir.hospital.example/r4'], extra: [] } },
    ]) {
      expect(() => loadConfig({ ...minimal, PROVIDER_ENDPOINT_ALLOWLIST: JSON.stringify(entry) })).toThrow(/PROVIDER_ENDPOINT_ALLOWLIST/);
    }
    expect(() => loadConfig({ ...minimal, PROVIDER_ENDPOINT_ALLOWLIST: '{not json' })).toThrow(/PROVIDER_ENDPOINT_ALLOWLIST/);
  });
});

/** The misconfigured error loadConfig throws for `env`, or a failure if it accepts it. */
function misconfiguration(env: Record<string, string>): BrokerError {
  try {
    loadConfig({ ...minimal, ...env });
  } catch (error) {
    if (error instanceof BrokerError && error.code === 'misconfigured') return error;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('JSON in a variable', () => {
  const secret = 'sk-live-0123456789abcdef';

  it('names the variable when the text is not JSON, without quoting the text', () => {
    const error = misconfiguration({ CALLER_POLICY: `[{"serviceAccount": "${secret}"` });
    expect(error.message).toContain('CALLER_POLICY must be a JSON array of rules');
    expect(error.details?.variables).toEqual(['CALLER_POLICY']);
    expect(error.message).not.toContain(secret);
  });

  it('says where valid JSON breaks the schema, without the value found there', () => {
    const error = misconfiguration({ CALLER_QUOTAS: JSON.stringify({ token: { perCaller: { requests: secret, perSeconds: 1 } } }) });
    expect(error.message).toContain('CALLER_QUOTAS has invalid quotas (at token.perCaller.requests:');
    expect(error.message).not.toContain(secret);
  });

  it('reads SWEEP_PROVIDER_CAPS the same way', () => {
    expect(loadConfig({ ...minimal, SWEEP_PROVIDER_CAPS: '{"slack": 5}' }).sweeps.providerCaps).toEqual({ slack: 5 });
    expect(loadConfig(minimal).sweeps.providerCaps).toEqual({});
    expect(misconfiguration({ SWEEP_PROVIDER_CAPS: '{"slack": 501}' }).message).toContain('SWEEP_PROVIDER_CAPS has invalid caps (at slack:');
    expect(misconfiguration({ SWEEP_PROVIDER_CAPS: '{"slack": "5"}' }).details?.variables).toEqual(['SWEEP_PROVIDER_CAPS']);
  });
});

describe('provider client credentials', () => {
  it('reports a secret without its client id beside the other bad variables, naming the id and never the secret', () => {
    const error = misconfiguration({ PROVIDER_ZOOM_CLIENT_SECRET: 'zoom-secret-value', LOG_LEVEL: 'LOUD' });
    expect(error.details?.variables).toEqual(['PROVIDER_ZOOM_CLIENT_ID', 'LOG_LEVEL']);
    expect(error.message).toContain('PROVIDER_ZOOM_CLIENT_ID is required with PROVIDER_ZOOM_CLIENT_SECRET');
    expect(error.message).not.toContain('zoom-secret-value');
  });
});
