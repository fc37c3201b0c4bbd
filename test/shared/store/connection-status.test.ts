import { describe, expect, it } from 'vitest';
import { connectionIdFor } from '../../../shared/store/connection-document.js';
import { canMove, connectionStatuses, eventForMove } from '../../../shared/store/connection-status.js';
import { redactSecrets } from '../../../shared/log/redact.js';

describe('connection state machine', () => {
  it('lets a revoked connection come back only through a reconnect', () => {
    for (const to of connectionStatuses) expect(canMove('revoked', to)).toBe(to === 'active');
  });

  it('never lets needs_reauth recover by itself through a refresh', () => {
    expect(canMove('needs_reauth', 'refreshing')).toBe(false);
    expect(canMove('needs_reauth', 'error')).toBe(false);
  });

  it('announces every move a product must hear about, recovery included', () => {
    expect(eventForMove(null, 'active')).toBe('connection.created');
    expect(eventForMove('active', 'needs_reauth')).toBe('connection.needs_reauth');
    expect(eventForMove('needs_reauth', 'active')).toBe('connection.reconnected');
    expect(eventForMove('error', 'active')).toBe('connection.refreshed_after_failure');
    expect(eventForMove('active', 'error')).toBe('connection.refresh_failed');
    expect(eventForMove('active', 'revoked')).toBe('connection.revoked');
    expect(eventForMove('active', 'refreshing')).toBeUndefined();
    expect(eventForMove('refreshing', 'active')).toBeUndefined();
  });
});

describe('connectionIdFor', () => {
  const alice = { tenantId: 'acme', userId: 'alice', provider: 'slack', providerAccountId: 'T0001' };

  it('gives the same id to the same provider account, and another to a second workspace', () => {
    expect(connectionIdFor(alice)).toBe(connectionIdFor({ ...alice }));
    expect(connectionIdFor({ ...alice, providerAccountId: 'T0002' })).not.toBe(connectionIdFor(alice));
    expect(connectionIdFor({ ...alice, userId: null })).not.toBe(connectionIdFor(alice));
  });

  it('cannot be forged by moving separators between parts', () => {
    expect(connectionIdFor({ ...alice, tenantId: 'acme', userId: 'alice|slack' })).not.toBe(
      connectionIdFor({ ...alice, tenantId: 'acme|alice', userId: 'slack' }),
    );
  });

  it('stays readable in logs (not shaped like a secret)', () => {
    const id = connectionIdFor(alice);
    expect(id).toMatch(/^conn_[0-9a-f]{30}$/);
    expect(redactSecrets(id)).toBe(id);
  });
});
