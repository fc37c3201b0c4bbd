// CLOUD_RUN_IAM_VERIFIED_CALLERS: off by default, "scheduler" its only value, and refused outside the sweeps or without what the proof needs.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/config.js';
import { BrokerError } from '../../../shared/errors/broker-error.js';

const base = {
  GOOGLE_CLOUD_PROJECT: 'acme-prod',
  ID_TOKEN_AUDIENCES: 'https://europe-west1-acme-prod.cloudfunctions.net/oauth-broker-refresh',
  SCHEDULER_SERVICE_ACCOUNT: 'oauth-broker-scheduler@acme-prod.iam.gserviceaccount.com',
  K_SERVICE: 'oauth-broker-refresh',
  FUNCTION_TARGET: 'refresh',
};

function refusal(env: Record<string, string>): BrokerError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof BrokerError) return error;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('CLOUD_RUN_IAM_VERIFIED_CALLERS', () => {
  it('is off unless set, and the Admin API is Google’s unless a stand-in is named', () => {
    const config = loadConfig(base);
    expect(config.scheduler.trustCloudRunIam).toBe(false);
    expect(config.cloudRun).toEqual({ adminApiUrl: 'https://run.googleapis.com', region: undefined });
    expect(loadConfig({ ...base, CLOUD_RUN_IAM_VERIFIED_CALLERS: '' }).scheduler.trustCloudRunIam).toBe(false);
  });

  it('turns on for the scheduler on the refresh and health functions', () => {
    for (const target of ['refresh', 'health']) {
      const config = loadConfig({ ...base, FUNCTION_TARGET: target, CLOUD_RUN_IAM_VERIFIED_CALLERS: 'scheduler', CLOUD_RUN_REGION: 'us-central1' });
      expect(config.scheduler.trustCloudRunIam).toBe(true);
      expect(config.cloudRun.region).toBe('us-central1');
    }
  });

  it('is refused on every other function, so no other function can trust a stripped token', () => {
    for (const target of ['token', 'admin', 'authorize', 'connections', 'callback']) {
      const error = refusal({ ...base, FUNCTION_TARGET: target, CLOUD_RUN_IAM_VERIFIED_CALLERS: 'scheduler' });
      expect(error.code).toBe('misconfigured');
      expect(error.message).toContain(`may only be set on the refresh and health functions, not on ${target}`);
    }
  });

  it('accepts no other value: "true" or another identity is a misconfiguration, not a wider trust', () => {
    for (const value of ['true', 'pubsub', 'scheduler,pubsub', 'SCHEDULER']) {
      expect(refusal({ ...base, CLOUD_RUN_IAM_VERIFIED_CALLERS: value }).details).toEqual({ variables: ['CLOUD_RUN_IAM_VERIFIED_CALLERS'] });
    }
  });

  it('needs the scheduler account, the audiences and K_SERVICE beside it', () => {
    const { SCHEDULER_SERVICE_ACCOUNT: _a, ID_TOKEN_AUDIENCES: _b, K_SERVICE: _c, ...rest } = base;
    const error = refusal({ ...rest, CLOUD_RUN_IAM_VERIFIED_CALLERS: 'scheduler' });
    expect(error.details).toEqual({ variables: ['SCHEDULER_SERVICE_ACCOUNT', 'ID_TOKEN_AUDIENCES', 'K_SERVICE'] });
  });

  it('reaches the Admin API over plain http only on loopback', () => {
    expect(loadConfig({ ...base, CLOUD_RUN_ADMIN_API_URL: 'http://127.0.0.1:9000/' }).cloudRun.adminApiUrl).toBe('http://127.0.0.1:9000');
    expect(refusal({ ...base, CLOUD_RUN_ADMIN_API_URL: 'http://run.example.test' }).details).toEqual({ variables: ['CLOUD_RUN_ADMIN_API_URL'] });
  });
});
