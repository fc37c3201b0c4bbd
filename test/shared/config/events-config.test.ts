// The events settings: the topic Terraform passes, the emulator host, and the publish timeout, validated like every other variable.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/config.js';
import { isBrokerError } from '../../../shared/errors/broker-error.js';

const minimal = { GOOGLE_CLOUD_PROJECT: 'acme-prod' };

function invalidVariables(env: Record<string, string>): unknown {
  try {
    loadConfig({ ...minimal, ...env });
  } catch (error) {
    if (isBrokerError(error, 'misconfigured')) return error.details?.variables;
    throw error;
  }
  return [];
}

describe('loadConfig events', () => {
  it('takes the full topic name Terraform passes (google_pubsub_topic.id) and the emulator host', () => {
    const config = loadConfig({ ...minimal, EVENTS_TOPIC: 'projects/acme-prod/topics/connection-events', PUBSUB_EMULATOR_HOST: '127.0.0.1:8085' });

    expect(config.events).toEqual({ topic: 'projects/acme-prod/topics/connection-events', emulatorHost: '127.0.0.1:8085', publishTimeoutMs: 10_000 });
  });

  it('leaves events unconfigured when the variables are unset or empty', () => {
    expect(loadConfig({ ...minimal, EVENTS_TOPIC: '' }).events).toEqual({ topic: undefined, emulatorHost: undefined, publishTimeoutMs: 10_000 });
  });

  it('rejects a bare topic id, a bad emulator host and an out-of-range timeout, naming each', () => {
    expect(invalidVariables({ EVENTS_TOPIC: 'connection-events' })).toEqual(['EVENTS_TOPIC']);
    expect(invalidVariables({ PUBSUB_EMULATOR_HOST: 'http://localhost' })).toEqual(['PUBSUB_EMULATOR_HOST']);
    expect(invalidVariables({ EVENTS_PUBLISH_TIMEOUT_SECONDS: '0' })).toEqual(['EVENTS_PUBLISH_TIMEOUT_SECONDS']);
    expect(loadConfig({ ...minimal, EVENTS_PUBLISH_TIMEOUT_SECONDS: '3' }).events.publishTimeoutMs).toBe(3_000);
  });
});
