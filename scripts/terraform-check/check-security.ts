// Security invariants: only callback is public, scheduler calls carry OIDC tokens, only the sweeps trust Cloud Run's
// IAM check of a stripped token, the sealing key rotates and cannot be destroyed by an apply, and every function runs on nodejs22.
import type { Finding } from './findings.js';
import { bodiesOf, isBody, jsonFileLocal, lineOfArgument } from './load-configuration.js';
import type { Configuration, TerraformBlock } from './load-configuration.js';

export const publicFunction = 'callback';
export const requiredRuntime = 'nodejs22';
/** The variable that lets a function accept a signature-stripped token, and the only functions that may set it. */
export const cloudRunIamTrustVariable = 'CLOUD_RUN_IAM_VERIFIED_CALLERS';
export const functionsTrustingCloudRunIam = ['refresh', 'health'];
const publicPrincipal = /\b(allUsers|allAuthenticatedUsers)\b/;
/**
 * Where the function manifest's roles become principals and variables become values: `public` (allUsers) and the
 * trust variable may sit there because which function gets them is the manifest's, checked by checkManifest.
 */
const invokerMembersLocal = 'invoker_members';
const environmentValuesLocal = 'environment_values';

function finding(block: TerraformBlock, argument: string | undefined, message: string): Finding {
  const line = argument === undefined ? block.line : lineOfArgument(block.file, block.line, argument);
  return { file: block.file.path, line, rule: 'security', message };
}

function literal(value: unknown): string | undefined {
  return typeof value === 'string' && !value.includes('${') ? value : undefined;
}

function firstBody(value: unknown): Record<string, unknown> | undefined {
  return bodiesOf(value)[0];
}

/** The entry point a function resource (optionally one for_each instance of it) serves. */
function entryPointOf(configuration: Configuration, resourceName: string, instanceKey: string | undefined): string {
  if (instanceKey !== undefined) return instanceKey;
  const block = configuration.blocks.find(
    (candidate) => candidate.kind === 'resource' && candidate.type === 'google_cloudfunctions2_function' && candidate.name === resourceName,
  );
  return literal(firstBody(block?.body.build_config)?.entry_point) ?? resourceName;
}

/** Which function an IAM resource grants on, when its target names a function resource. */
function iamTarget(configuration: Configuration, block: TerraformBlock): string | undefined {
  for (const argument of ['name', 'service', 'cloud_function']) {
    const value = block.body[argument];
    if (typeof value !== 'string') continue;
    const match = /google_cloudfunctions2?_function\.([A-Za-z0-9_-]+)(?:\[\s*"([^"]+)"\s*\])?/.exec(value);
    if (match !== null) return entryPointOf(configuration, match[1] as string, match[2]);
  }
  return undefined;
}

/** Every string in a body with the object keys leading to it. */
function stringsWithPaths(value: unknown, path: readonly string[], out: { text: string; path: readonly string[] }[]): void {
  if (typeof value === 'string') out.push({ text: value, path });
  else if (Array.isArray(value)) for (const item of value) stringsWithPaths(item, path, out);
  else if (isBody(value)) for (const [key, inner] of Object.entries(value)) stringsWithPaths(inner, [...path, key], out);
}

function checkPublicPrincipals(configuration: Configuration, functionNames: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  for (const block of configuration.blocks) {
    const strings: { text: string; path: readonly string[] }[] = [];
    stringsWithPaths(block.body, [], strings);
    for (const { text, path } of strings) {
      const principal = publicPrincipal.exec(text)?.[1];
      if (principal === undefined) continue;
      if (block.kind === 'locals' && block.name === invokerMembersLocal && path[1] === 'public') continue;
      const argument = block.kind === 'locals' ? undefined : path[0];
      const isIam = block.kind === 'resource' && /_iam_(member|binding|policy)$/.test(block.type ?? '');
      const target = isIam ? iamTarget(configuration, block) : [...path].reverse().find((key) => functionNames.includes(key));
      const where = block.kind === 'locals' ? `local.${block.name}` : `${block.type ? `${block.type}.` : ''}${block.name}`;
      if (target === publicFunction) continue;
      findings.push(
        finding(
          block,
          argument,
          target === undefined
            ? `${where} grants ${principal}, but only the ${publicFunction} function may be public and this grant cannot be shown to target it`
            : `${where} lets ${principal} invoke the ${target} function; only ${publicFunction} may be public (callers must use IAM)`,
        ),
      );
    }
  }
  return findings;
}

/** Every place that sets `text`: an object key, or an assignment inside an expression, with the object keys leading to it. */
function mentionsWithPaths(value: unknown, text: string, path: readonly string[], out: (readonly string[])[]): void {
  if (typeof value === 'string') {
    // `NAME = …` in a map literal inside an expression; a mere mention (e.g. in a condition) sets nothing.
    if (new RegExp(`\\b${text}"?\\s*[=:]`).test(value)) out.push(path);
  } else if (Array.isArray(value)) {
    for (const item of value) mentionsWithPaths(item, text, path, out);
  } else if (isBody(value)) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === text) out.push([...path, key]);
      mentionsWithPaths(inner, text, [...path, key], out);
    }
  }
}

// Trusting Cloud Run's IAM check of a stripped token is for the sweeps' scheduler identity; anywhere else (or in the
// environment every function shares) it would let a function accept tokens it cannot verify.
function checkCloudRunIamTrust(configuration: Configuration, functionNames: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  for (const block of configuration.blocks) {
    const paths: (readonly string[])[] = [];
    mentionsWithPaths(block.body, cloudRunIamTrustVariable, [], paths);
    for (const path of paths) {
      if (block.kind === 'locals' && block.name === environmentValuesLocal) continue;
      const target = [...path].reverse().find((key) => functionNames.includes(key));
      if (target !== undefined && functionsTrustingCloudRunIam.includes(target)) continue;
      const where = block.kind === 'locals' ? `local.${block.name}` : `${block.type ? `${block.type}.` : ''}${block.name}`;
      findings.push(
        finding(
          block,
          block.kind === 'locals' ? undefined : path[0],
          target === undefined
            ? `${where} sets ${cloudRunIamTrustVariable} where it cannot be shown to reach only ${functionsTrustingCloudRunIam.join(' and ')}`
            : `${where} sets ${cloudRunIamTrustVariable} on the ${target} function; only ${functionsTrustingCloudRunIam.join(' and ')} may trust Cloud Run's IAM check of a stripped token`,
        ),
      );
    }
  }
  return findings;
}

function checkSchedulerJobs(configuration: Configuration): Finding[] {
  const findings: Finding[] = [];
  for (const block of configuration.blocks) {
    if (block.kind !== 'resource' || block.type !== 'google_cloud_scheduler_job') continue;
    const oidc = firstBody(firstBody(block.body.http_target)?.oidc_token);
    if (oidc === undefined) {
      findings.push(finding(block, 'http_target', `google_cloud_scheduler_job.${block.name} has no http_target.oidc_token: scheduler calls must carry an OIDC token of the scheduler service account`));
      continue;
    }
    for (const argument of ['service_account_email', 'audience']) {
      if (oidc[argument] === undefined || oidc[argument] === '') {
        findings.push(finding(block, 'oidc_token', `google_cloud_scheduler_job.${block.name}.http_target.oidc_token must set ${argument}`));
      }
    }
  }
  return findings;
}

function checkKmsKeys(configuration: Configuration): Finding[] {
  const findings: Finding[] = [];
  for (const block of configuration.blocks) {
    if (block.kind !== 'resource' || block.type !== 'google_kms_crypto_key') continue;
    const rotation = block.body.rotation_period;
    if (typeof rotation !== 'string' || rotation === '') {
      findings.push(finding(block, undefined, `google_kms_crypto_key.${block.name} has no rotation_period: the token-sealing key must rotate`));
    }
    if (firstBody(block.body.lifecycle)?.prevent_destroy !== true) {
      findings.push(finding(block, undefined, `google_kms_crypto_key.${block.name} lacks lifecycle { prevent_destroy = true }: destroying it crypto-shreds every stored token`));
    }
  }
  return findings;
}

function checkRuntimes(configuration: Configuration): Finding[] {
  const findings: Finding[] = [];
  for (const block of configuration.blocks) {
    if (block.kind !== 'resource') continue;
    if (block.type === 'google_cloudfunctions_function') {
      findings.push(finding(block, undefined, `google_cloudfunctions_function.${block.name} is a 1st gen function; the broker deploys Cloud Functions gen2 only`));
    }
    if (block.type !== 'google_cloudfunctions2_function') continue;
    const runtime = firstBody(block.body.build_config)?.runtime;
    if (runtime !== requiredRuntime) {
      findings.push(finding(block, 'build_config', `google_cloudfunctions2_function.${block.name} must use runtime "${requiredRuntime}", found ${JSON.stringify(runtime ?? null)}`));
    }
  }
  return findings;
}

/**
 * The function manifest that `local.functions` reads (functions/manifest.json): only callback public, and only the
 * sweeps given the variable that trusts Cloud Run's IAM check.
 */
function checkManifest(configuration: Configuration): Finding[] {
  const block = configuration.blocks.find((candidate) => candidate.kind === 'locals' && candidate.name === 'functions');
  const manifest = jsonFileLocal(configuration, 'functions');
  if (block === undefined || !isBody(manifest)) return [];
  const findings: Finding[] = [];
  for (const [name, entry] of Object.entries(manifest)) {
    if (!isBody(entry)) continue;
    if (entry.invokers === 'public' && name !== publicFunction) {
      findings.push(finding(block, undefined, `the function manifest makes the ${name} function public; only ${publicFunction} may be public (callers must use IAM)`));
    }
    const environment = Array.isArray(entry.environment) ? entry.environment : [];
    if (environment.includes(cloudRunIamTrustVariable) && !functionsTrustingCloudRunIam.includes(name)) {
      findings.push(
        finding(
          block,
          undefined,
          `the function manifest gives ${cloudRunIamTrustVariable} to the ${name} function; only ${functionsTrustingCloudRunIam.join(' and ')} may trust Cloud Run's IAM check of a stripped token`,
        ),
      );
    }
  }
  return findings;
}

export function checkSecurity(configuration: Configuration, functionNames: readonly string[]): Finding[] {
  return [
    ...checkManifest(configuration),
    ...checkPublicPrincipals(configuration, functionNames),
    ...checkSchedulerJobs(configuration),
    ...checkCloudRunIamTrust(configuration, functionNames),
    ...checkKmsKeys(configuration),
    ...checkRuntimes(configuration),
  ];
}
