// functions/manifest.json (what Terraform and the local stack give each function) agrees with what each function's
// code reads (functions/config-reads.ts, enforced by loadConfig); any disagreement names the function and variable.
import { describe, expect, it } from 'vitest';
import { functionConfigReads } from '../../functions/config-reads.js';
import { functionNames } from '../../functions/names.js';
import { type FunctionManifest, manifestMismatches, readFunctionManifest } from '../../local/function-manifest.js';
import { loadConfig } from '../../shared/config/config.js';

function editedManifest(edit: (manifest: FunctionManifest) => void): FunctionManifest {
  const manifest = structuredClone(readFunctionManifest());
  edit(manifest);
  return manifest;
}

describe('the function manifest', () => {
  it('lists every function, and gives each exactly what its code reads', () => {
    const manifest = readFunctionManifest();
    expect(Object.keys(manifest.functions).sort()).toEqual([...functionNames].sort());
    expect(manifestMismatches(manifest)).toEqual([]);
  });

  it('names the function and the variable when a function reads one its entry does not give', () => {
    const manifest = editedManifest((m) => {
      m.functions.authorize.environment = m.functions.authorize.environment.filter((name) => name !== 'KMS_KEY_NAME');
    });
    expect(manifestMismatches(manifest)).toEqual(['authorize reads KMS_KEY_NAME (config.kms) but functions/manifest.json does not give it']);
  });

  it('names the function and the variable when the entry gives one that nothing in the function reads', () => {
    const manifest = editedManifest((m) => {
      m.functions.token.environment.push('ADMIN_ALLOWLIST');
      m.functions.callback.environment.push('FIRESTORE_EMULATOR_HOST');
    });
    expect(manifestMismatches(manifest)).toEqual([
      'functions/manifest.json gives callback FIRESTORE_EMULATOR_HOST, which only the local stack or the platform sets',
      'functions/manifest.json gives token ADMIN_ALLOWLIST, which nothing in token reads',
    ]);
  });

  it('names the client secrets when code that needs them is not given them, and when they are given where unread', () => {
    const reads = { ...functionConfigReads, authorize: [...functionConfigReads.authorize, 'providerClients' as const] };
    expect(manifestMismatches(readFunctionManifest(), reads)).toEqual([
      'authorize reads provider credentials as client_ids_and_secrets but functions/manifest.json gives client_ids (PROVIDER_<ID>_CLIENT_SECRET)',
    ]);
    const manifest = editedManifest((m) => {
      m.functions.authorize.providerCredentials = 'client_ids_and_secrets';
    });
    expect(manifestMismatches(manifest)).toEqual([
      'authorize reads provider credentials as client_ids but functions/manifest.json gives client_ids_and_secrets (PROVIDER_<ID>_CLIENT_SECRET)',
    ]);
  });
});

describe('a function reading its configuration', () => {
  const env = {
    GOOGLE_CLOUD_PROJECT: 'p',
    EVENTS_TOPIC: 'projects/p/topics/t',
    PROVIDER_SLACK_CLIENT_ID: 'id',
    PROVIDER_SLACK_CLIENT_SECRET: 'secret',
  };

  it('throws, naming the function and the variables, when its code reads a section it does not declare', () => {
    const config = loadConfig(env, { functionName: 'authorize', sections: functionConfigReads.authorize });
    expect(() => config.events).toThrow(
      new TypeError('The authorize function read config.events (EVENTS_TOPIC, PUBSUB_EMULATOR_HOST, EVENTS_PUBLISH_TIMEOUT_SECONDS), which functions/config-reads.ts does not declare for it'),
    );
  });

  it('holds no client secret in a function that declares only the client ids', () => {
    const authorize = loadConfig(env, { functionName: 'authorize', sections: functionConfigReads.authorize });
    expect(authorize.providerClients).toEqual({ slack: { clientId: 'id' } });
    const callback = loadConfig(env, { functionName: 'callback', sections: functionConfigReads.callback });
    expect(callback.providerClients).toEqual({ slack: { clientId: 'id', clientSecret: 'secret' } });
  });
});
