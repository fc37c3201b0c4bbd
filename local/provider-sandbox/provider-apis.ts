// A small fake of each built-in provider's own API, as the proxy function reaches it: one list call per provider (its
// identity call is the profile's, in profiles.ts, where it sits under the API) and, for Google, a Drive-like upload and
// download that stream many megabytes. Written from the providers' API references, independently of shared/providers.
import { SMART_BASE } from './profiles.js';

export interface SandboxApiCall {
  readonly provider: string;
  /** The production URL template (`{name}` one path segment, or a host where routeVariables says so). */
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly body: (account: string) => unknown;
}

/** The Atlassian sites a sandbox grant can reach (its accessible-resources). */
export const ATLASSIAN_SANDBOX_CLOUD_IDS = ['cloud-1111', 'cloud-2222'] as const;

const email = (account: string) => `${account}@sandbox.test`;

/** Identity calls under a provider's API base that profiles.ts does not already serve there. */
const apiIdentityCalls: readonly SandboxApiCall[] = [
  { provider: 'google', url: 'https://www.googleapis.com/gmail/v1/users/me/profile', method: 'GET', body: (a) => ({ emailAddress: email(a), messagesTotal: 2 }) },
  { provider: 'salesforce', url: 'https://{instanceHost}/services/data/v62.0/chatter/users/me', method: 'GET', body: (a) => ({ id: `005${a}`, username: email(a) }) },
  { provider: 'atlassian', url: 'https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3/myself', method: 'GET', body: (a) => ({ accountId: `acc-${a}`, emailAddress: email(a) }) },
];

/** One list call per built-in provider: what a proxied "list my things" reaches. */
const apiListCalls: readonly SandboxApiCall[] = [
  { provider: 'slack', url: 'https://slack.com/api/conversations.list', method: 'GET', body: () => ({ ok: true, channels: [{ id: 'C1', name: 'general' }] }) },
  { provider: 'google', url: 'https://www.googleapis.com/gmail/v1/users/me/messages', method: 'GET', body: () => ({ messages: [{ id: 'm1', threadId: 't1' }], resultSizeEstimate: 1 }) },
  { provider: 'microsoft', url: 'https://graph.microsoft.com/v1.0/me/messages', method: 'GET', body: () => ({ value: [{ id: 'AAMk1', subject: 'Hello' }] }) },
  { provider: 'notion', url: 'https://api.notion.com/v1/users', method: 'GET', body: (a) => ({ object: 'list', results: [{ object: 'user', id: `user-${a}` }], has_more: false }) },
  { provider: 'salesforce', url: 'https://{instanceHost}/services/data/v62.0/sobjects', method: 'GET', body: () => ({ encoding: 'UTF-8', sobjects: [{ name: 'Account' }] }) },
  { provider: 'hubspot', url: 'https://api.hubapi.com/crm/v3/objects/contacts', method: 'GET', body: () => ({ results: [{ id: '1', properties: { email: 'c@sandbox.test' } }] }) },
  { provider: 'dropbox', url: 'https://api.dropboxapi.com/2/files/list_folder', method: 'POST', body: () => ({ entries: [{ '.tag': 'file', name: 'a.txt' }], has_more: false }) },
  { provider: 'asana', url: 'https://app.asana.com/api/1.0/workspaces', method: 'GET', body: () => ({ data: [{ gid: 'w1', name: 'Sandbox' }] }) },
  { provider: 'github', url: 'https://api.github.com/user/repos', method: 'GET', body: (a) => [{ id: 1, full_name: `${a}/sandbox` }] },
  { provider: 'github_app', url: 'https://api.github.com/user/repos', method: 'GET', body: (a) => [{ id: 1, full_name: `${a}/sandbox` }] },
  { provider: 'atlassian', url: 'https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3/project/search', method: 'GET', body: () => ({ values: [{ id: '10000', key: 'SBX' }] }) },
  { provider: 'zoom', url: 'https://api.zoom.us/v2/users/me/meetings', method: 'GET', body: () => ({ meetings: [{ id: 1, topic: 'Standup' }] }) },
  { provider: 'smart_on_fhir', url: `${SMART_BASE}/Patient`, method: 'GET', body: (a) => ({ resourceType: 'Bundle', type: 'searchset', entry: [{ resource: { resourceType: 'Patient', id: `pat-${a}` } }] }) },
];

export const sandboxApiCalls: readonly SandboxApiCall[] = [...apiIdentityCalls, ...apiListCalls];

/**
 * Google Drive's media upload and download, played with streams: the upload answers with the byte count and SHA-256
 * of what arrived, the download (`files/{size}-bytes?alt=media`) sends that many bytes. Neither holds a body.
 */
export const streamingApi = {
  provider: 'google',
  upload: 'https://www.googleapis.com/upload/drive/v3/files',
  downloadPrefix: 'https://www.googleapis.com/drive/v3/files/',
} as const;
