// The plain pages the browser-facing callback shows when there is no return URL to go back to.
import { createHash } from 'node:crypto';
import type { ErrorCode } from '../../errors/error-codes.js';

const STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#eee;padding:0 .25rem}';

/** Nothing loads from anywhere: the one inline style is allowed by its hash, and nothing may frame the page. */
export const CALLBACK_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const explanations: Partial<Record<ErrorCode, string>> = {
  flow_not_found: 'This connect link is unknown, incomplete or has expired.',
  flow_expired: 'This connect link has expired.',
  flow_already_used: 'This connect link was already used.',
  flow_browser_mismatch: 'This sign-in finished in a different browser than the one it started in. Start again from the app, in one browser.',
  invalid_return_url: 'The app this connection was for is no longer allowed to receive it.',
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function errorPageHtml(code: ErrorCode): string {
  const explanation = explanations[code] ?? 'The connection could not be completed.';
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>Connection not completed</title><style>${STYLE}</style></head><body>` +
    `<h1>Connection not completed</h1><p>${escapeHtml(explanation)}</p>` +
    `<p>Error code: <code id="error-code">${escapeHtml(code)}</code></p>` +
    '<p>You can close this page and try again from the app.</p></body></html>'
  );
}
