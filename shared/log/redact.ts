// Masks anything in a string that is shaped like a credential, as a second line behind the field allowlist.
export const REDACTED = '[redacted]';

// Well-known credential prefixes (Slack, Google, GitHub, Stripe-like, Bearer headers, JWTs).
const knownCredentialShapes: readonly RegExp[] = [
  /xox[a-z]-[0-9A-Za-z_-]+/g,
  /xapp-[0-9A-Za-z_-]+/g,
  /ya29\.[0-9A-Za-z._-]+/g,
  /1\/\/[0-9A-Za-z._-]{10,}/g,
  /gh[opusr]_[0-9A-Za-z]{10,}/g,
  /github_pat_[0-9A-Za-z_]{10,}/g,
  /eyJ[0-9A-Za-z_-]{5,}\.[0-9A-Za-z_-]*\.?[0-9A-Za-z_-]*/g,
  /(?<=\bBearer\s+)\S+/gi,
  /(?<=\bBasic\s+)\S+/gi,
];

// Query parameters that carry secrets in OAuth URLs.
const secretQueryParameter =
  /([?&#](?:code|state|code_verifier|access_token|refresh_token|id_token|client_secret|token|oauth_token|oauth_verifier|oauth_signature|key)=)[^&#\s]*/gi;

// Long runs of token alphabet: random secrets mix cases and digits; identifiers we log (uuids, emails,
// lower-case slugs) do not. Long hex runs (Trello tokens, raw keys) are caught separately.
const tokenAlphabetRun = /[A-Za-z0-9_\-.~+/=!]{20,}/g;
const longHexRun = /\b[0-9a-fA-F]{32,}\b/g;

const RANDOM_RUN_LENGTH = 20;
/** The shortest path segment that can hide a secret: a credential is long, a name (`Ci9Xq`, `ci.MeS3`, `Build2-Agent`) is not. */
const RANDOM_SEGMENT_LENGTH = 16;
/**
 * Names are made of words (`OAuth2Client.getRequestMetadataAsync`, `MyBroker2026Checkout`: 4.5 to 6 letters a word);
 * random base64 breaks into letter fragments under 2 long, and a 20-character secret reaches 4 about once in 400.
 */
const WORDY_FRAGMENT_LENGTH = 4;
const letterFragment = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+/g;

function mixesCasesAndDigits(text: string): boolean {
  return /[A-Z]/.test(text) && /[a-z]/.test(text) && /[0-9]/.test(text);
}

function isMadeOfWords(text: string): boolean {
  const fragments = text.match(letterFragment) ?? [];
  const letters = fragments.reduce((sum, fragment) => sum + fragment.length, 0);
  return letters >= WORDY_FRAGMENT_LENGTH * fragments.length;
}

function looksRandom(text: string, minLength: number): boolean {
  return text.length >= minLength && mixesCasesAndDigits(text) && !isMadeOfWords(text);
}

/**
 * An absolute file path (as in a stack frame) is judged segment by segment, so a checkout folder with mixed case and a
 * digit keeps operators' stack traces readable; a credential inside a path is still one long random segment, and then
 * the whole run goes (its other segments may be pieces of the same secret). Anything else is judged whole: a base64
 * secret starts with `/` only rarely and then still has a long random segment.
 */
function isSecretRun(run: string): boolean {
  if (run.startsWith('/') && run.indexOf('/', 1) !== -1) {
    return run.split(/[/._-]/).some((segment) => looksRandom(segment, RANDOM_SEGMENT_LENGTH));
  }
  return looksRandom(run, RANDOM_RUN_LENGTH);
}

export function redactSecrets(text: string): string {
  let out = text.replace(secretQueryParameter, `$1${REDACTED}`);
  for (const shape of knownCredentialShapes) out = out.replace(shape, REDACTED);
  out = out.replace(longHexRun, REDACTED);
  out = out.replace(tokenAlphabetRun, (run) => (isSecretRun(run) ? REDACTED : run));
  return out;
}
