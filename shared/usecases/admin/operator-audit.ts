// Records every operator action in the audit log (`admin.action`), with the operator's identity and the outcome.
import type { Operator } from '../../auth/admin-operator.js';
import { appendAudit, type AuditEntry } from '../../store/audit-log.js';
import type { StoredConnection } from '../../store/connection-reads.js';
import type { BrokerRuntime } from '../broker-runtime.js';

export interface OperatorActionRecord {
  /** The API operation, a stable code (e.g. `revoke_connection`). */
  readonly operation: string;
  readonly outcome: AuditEntry['outcome'];
  /** The connection the action was about, if one. */
  readonly connection?: StoredConnection | undefined;
  /** Or only its id, when it could not be read. */
  readonly connectionId?: string | undefined;
  /** Appended to the operation as `operation:detail` (an error code, an outcome). */
  readonly detail?: string | undefined;
}

export function operatorActor(operator: Operator): AuditEntry['actor'] {
  return { type: 'operator', id: operator.email };
}

export async function recordOperatorAction(runtime: BrokerRuntime, operator: Operator, record: OperatorActionRecord): Promise<void> {
  const document = record.connection?.document;
  await appendAudit(
    runtime.firestore(),
    {
      action: 'admin.action',
      actor: operatorActor(operator),
      tenantId: document?.tenantId ?? null,
      userId: document?.userId ?? null,
      provider: document?.provider ?? null,
      connectionId: record.connection?.id ?? record.connectionId ?? null,
      outcome: record.outcome,
      reason: (record.detail === undefined ? record.operation : `${record.operation}:${record.detail}`).slice(0, 200),
    },
    runtime,
  );
}
