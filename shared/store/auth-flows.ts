// Authorization flow records: keyed by a hash of the state, bound to one browser, consumed exactly once.
//
// What is stored and why: the document id is SHA-256(state), so a stolen database dump names no live state;
// the start token and the browser-binding cookie are stored only as SHA-256 hashes; the provider URL, PKCE
// verifier, nonce and OAuth 1.0a request token secret travel as one sealed blob (`secrets`) that consumption
// removes. Expiry is enforced here, in code; the TTL policy on `expiresAt` only bounds storage.
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Firestore, Timestamp } from '@google-cloud/firestore';
import { z } from 'zod';
import { sealedBlobSchema } from '../crypto/sealed-blob.js';
import { BrokerError } from '../errors/broker-error.js';
import type { ErrorCode } from '../errors/error-codes.js';
import { collectionNames, ttlFields } from './collections.js';
import { firestoreFailure } from './firestore-failure.js';
import { declareQuery } from './query-shape.js';
import { parseStoredDocument } from './stored-document.js';

/** The sealed field of a flow document (part of its seal's associated data). */
export const FLOW_SECRETS_FIELD = 'secrets';

const hashField = z.string().regex(/^[0-9a-f]{64}$/);

export const authFlowSchema = z
  .object({
    tenantId: z.string().min(1),
    userId: z.string().min(1),
    provider: z.string().min(1),
    protocol: z.enum(['oauth2', 'oauth1a']),
    /** Everything asked for, provider defaults and scopes of the user's existing connections included. */
    scopes: z.array(z.string()),
    connectionConfig: z.record(z.string(), z.string()),
    /** Checked against the allowlist when the flow was created, and again when it ends. */
    returnUrl: z.string().min(1),
    callerEmail: z.string().min(1),
    /**
     * Whether the grant waits for the product to confirm its user before it becomes a connection, decided when the flow
     * was created (CONNECT_CONFIRMATION_TENANTS). Absent on flows created before confirmation existed: not required.
     */
    confirmUser: z.boolean().optional(),
    startTokenHash: hashField,
    /** SHA-256 of the browser-binding cookie value, set by the start step. */
    browserBindingHash: hashField.nullable(),
    startedAtMs: z.number().int().nullable(),
    consumedAtMs: z.number().int().nullable(),
    /** Null once consumed: nothing that could finish the flow outlives its single use. */
    secrets: sealedBlobSchema.nullable(),
    createdAtMs: z.number().int(),
    [ttlFields.authFlows]: z.instanceof(Timestamp),
  })
  .strict();
export type AuthFlow = z.infer<typeof authFlowSchema>;

export interface StoredAuthFlow {
  readonly flowId: string;
  readonly flow: AuthFlow;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The flow document id for a state: the state itself is never stored. */
export function flowIdForState(state: string): string {
  return sha256Hex(state);
}

/** Whether a presented secret hashes to the stored hash, compared in constant time. */
export function matchesHash(presented: string | undefined, storedHash: string | null): boolean {
  if (presented === undefined || presented === '' || storedHash === null) return false;
  const left = Buffer.from(sha256Hex(presented), 'hex');
  const right = Buffer.from(storedHash, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export function flowExpiresAtMs(flow: AuthFlow): number {
  return flow[ttlFields.authFlows].toMillis();
}

function flowRef(firestore: Firestore, flowId: string) {
  return firestore.collection(collectionNames.authFlows).doc(flowId);
}

export const flowByStartToken = declareQuery({
  name: 'flowByStartToken',
  collection: collectionNames.authFlows,
  filters: [{ field: 'startTokenHash', operator: '==' }],
});

function parseFlow(flowId: string, data: unknown): AuthFlow {
  return parseStoredDocument(authFlowSchema, 'authorization flow', `flow ${flowId.slice(0, 12)}`, data);
}

export async function createAuthFlow(firestore: Firestore, flowId: string, flow: AuthFlow): Promise<void> {
  await flowRef(firestore, flowId).create(authFlowSchema.parse(flow));
}

export async function readAuthFlow(firestore: Firestore, flowId: string): Promise<AuthFlow | undefined> {
  const snapshot = await flowRef(firestore, flowId).get();
  return snapshot.exists ? parseFlow(flowId, snapshot.data()) : undefined;
}

function flowError(code: ErrorCode, message: string): BrokerError {
  return new BrokerError(code, message);
}

export interface ClaimFlowStartInput {
  readonly startToken: string;
  /** The cookie this browser already holds for the flow, if any (a reload of the start page). */
  readonly presentedBinding: (flowId: string) => string | undefined;
  /** The binding to set when this is the flow's first start. */
  readonly newBinding: string;
  readonly nowMs: number;
}

/**
 * Binds the flow to the browser that first opens the start URL. The same browser may open it again (a
 * reload) while the flow is unconsumed; any other browser is refused with `flow_already_used`.
 */
export async function claimFlowStart(
  firestore: Firestore,
  input: ClaimFlowStartInput,
): Promise<StoredAuthFlow & { readonly binding: string }> {
  // Found outside the transaction, which then holds the one document: a query inside it would lock the whole
  // range it scans, so concurrent starts of unrelated flows (and flows being created) would contend until the
  // transaction gave up. The start token hash never changes once written, so the lookup cannot go stale.
  const found = await flowByStartToken.build(firestore, { startTokenHash: sha256Hex(input.startToken) }).limit(1).get().catch((error: unknown) => {
    throw firestoreFailure(error);
  });
  const ref = found.docs[0]?.ref;
  if (ref === undefined) throw flowError('flow_not_found', 'This connect link is unknown or has expired');
  return firestore.runTransaction(async (transaction) => {
    const doc = await transaction.get(ref);
    // Gone since the lookup: removed by the TTL policy.
    if (!doc.exists) throw flowError('flow_not_found', 'This connect link is unknown or has expired');
    const flow = parseFlow(doc.id, doc.data());
    if (flow.consumedAtMs !== null) throw flowError('flow_already_used', 'This connect link was already used');
    if (flowExpiresAtMs(flow) <= input.nowMs) throw flowError('flow_expired', 'This connect link has expired');
    if (flow.startedAtMs !== null) {
      const presented = input.presentedBinding(doc.id);
      if (presented === undefined || !matchesHash(presented, flow.browserBindingHash)) {
        throw flowError('flow_already_used', 'This connect link was already opened in another browser');
      }
      return { flowId: doc.id, flow, binding: presented };
    }
    const update = { startedAtMs: input.nowMs, browserBindingHash: sha256Hex(input.newBinding) };
    transaction.update(doc.ref, update);
    return { flowId: doc.id, flow: { ...flow, ...update }, binding: input.newBinding };
  }).catch((error: unknown) => {
    throw firestoreFailure(error);
  });
}

/**
 * Replaces the sealed secrets of a started, unconsumed flow (the OAuth 1.0a start step adds the request token it
 * obtained). A flow consumed meanwhile keeps its state: its secrets are gone for good.
 */
export async function replaceFlowSecrets(firestore: Firestore, flowId: string, secrets: NonNullable<AuthFlow['secrets']>): Promise<void> {
  const ref = flowRef(firestore, flowId);
  await firestore.runTransaction(async (transaction) => {
    const snapshot = await transaction.get(ref);
    if (!snapshot.exists) throw flowError('flow_not_found', 'This connect link is unknown or has expired');
    const flow = parseFlow(flowId, snapshot.data());
    if (flow.consumedAtMs !== null || flow.secrets === null) throw flowError('flow_already_used', 'This connect link was already used');
    transaction.update(ref, { [FLOW_SECRETS_FIELD]: secrets });
  }).catch((error: unknown) => {
    throw firestoreFailure(error);
  });
}

export type FlowConsumption =
  | { readonly kind: 'consumed'; readonly flow: AuthFlow & { readonly secrets: NonNullable<AuthFlow['secrets']> } }
  /** The flow exists and belongs to this browser, but cannot finish: its return URL is still trustworthy. */
  | { readonly kind: 'refused'; readonly code: 'flow_expired' | 'flow_already_used'; readonly flow: AuthFlow }
  /** Nothing trustworthy to return to: unknown state, or a browser that did not start the flow. */
  | { readonly kind: 'unknown'; readonly code: 'flow_not_found' | 'flow_browser_mismatch' };

/**
 * Consumes the flow in one transaction: a second callback with the same state finds it consumed. A browser
 * without the binding cookie does not consume it (the user's own browser may still finish), and an expired
 * flow is consumed as well, so it can never be finished later.
 */
export async function consumeAuthFlow(
  firestore: Firestore,
  input: { readonly flowId: string; readonly presentedBinding: string | undefined; readonly nowMs: number },
): Promise<FlowConsumption> {
  const ref = flowRef(firestore, input.flowId);
  return firestore.runTransaction(async (transaction): Promise<FlowConsumption> => {
    const snapshot = await transaction.get(ref);
    if (!snapshot.exists) return { kind: 'unknown', code: 'flow_not_found' };
    const flow = parseFlow(input.flowId, snapshot.data());
    if (!matchesHash(input.presentedBinding, flow.browserBindingHash)) return { kind: 'unknown', code: 'flow_browser_mismatch' };
    if (flow.consumedAtMs !== null || flow.secrets === null) return { kind: 'refused', code: 'flow_already_used', flow };
    transaction.update(ref, { consumedAtMs: input.nowMs, [FLOW_SECRETS_FIELD]: null });
    if (flowExpiresAtMs(flow) <= input.nowMs) return { kind: 'refused', code: 'flow_expired', flow };
    return { kind: 'consumed', flow: { ...flow, secrets: flow.secrets } };
  }).catch((error: unknown) => {
    throw firestoreFailure(error);
  });
}
