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
