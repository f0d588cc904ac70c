import type { DataSource, EntityManager } from 'typeorm';

/**
 * Why a refresh is wanted; each claims the row only while that reason still holds, so a row
 * refreshed meanwhile by someone else is never refreshed twice.
 * - `expiring`: the hot path; the access token has ≤ 60 s left (or is the one Jira rejected).
 * - `idle`: the keep-alive; the refresh token has not been used since the cutoff.
 * - `recovery`: a refresh of the current token version was sent and its outcome is unknown.
 */
export type ClaimReason =
  | { kind: 'expiring'; validUntil: Date; forceVersion?: number }
  | { kind: 'idle'; cutoff: Date }
  | { kind: 'recovery' };

/** A claimed row: ours to refresh until `expiresAt`, for token version `version` only. */
export interface RefreshLease {
  integrationId: string;
  teamId: string;
  owner: string;
  version: number;
  cloudId: string | null;
  /** Ciphertext of the refresh token being presented (decrypted by the caller). */
  refreshTokenEnvelope: string | null;
  /** True when an earlier refresh of this version was already in flight (its outcome unknown). */
  resumesUnknownOutcome: boolean;
}

/** The new tokens to store, already encrypted. */
export interface StoredTokens {
  accessTokenEnvelope: string;
  refreshTokenEnvelope: string;
  expiresAt: Date;
  scopes: string[];
  now: Date;
}

const LIVE = `status IN ('connected', 'pending_site_selection')`;

const CONDITIONS: Record<ClaimReason['kind'], string> = {
  expiring: `status = 'connected' AND (access_token IS NULL OR access_token_expires_at IS NULL
             OR access_token_expires_at <= $5 OR token_version = $6)`,
  idle: `${LIVE} AND refresh_token IS NOT NULL AND COALESCE(last_refreshed_at, connected_at) < $5`,
  recovery: `${LIVE} AND refresh_token IS NOT NULL AND refresh_in_flight_version = token_version`,
};

/** The success write: new tokens and version, lease and in-flight marker and error cleared ($4..$8). */
const COMPLETE_SET = `SET access_token = $4, refresh_token = $5, access_token_expires_at = $6, last_refreshed_at = $7,
    scopes = CASE WHEN cardinality($8::text[]) > 0 THEN $8::text[] ELSE jira_integrations.scopes END,
    token_version = jira_integrations.token_version + 1, last_error_code = NULL, last_error_at = NULL,
    refresh_lease_owner = NULL, refresh_lease_expires_at = NULL,
    refresh_in_flight_version = NULL, refresh_in_flight_since = NULL, updated_at = $7`;

function reasonParams(reason: ClaimReason): unknown[] {
  if (reason.kind === 'expiring') return [reason.validUntil, reason.forceVersion ?? -1];
  if (reason.kind === 'idle') return [reason.cutoff];
  return [];
}

/** node-postgres reports UPDATE as `[rows, count]`; PGlite's adapter, for a `WITH`, as rows. */
export function rowsOf<T>(result: unknown): T[] {
  const r = result as unknown[];
  return (Array.isArray(r) && Array.isArray(r[0]) ? r[0] : r) as T[];
}

/**
 * The statements of the refresh lease on `jira_integrations`. Each is one short statement on a
 * pooled connection that is released at once: no lock or connection is held while Atlassian is
 * called. Correctness comes from the conditions: a writer must still own the lease AND the token
 * version it refreshed must still be the stored one.
 */
export class RefreshLeaseStore {
  constructor(
    private readonly dataSource: DataSource,
    readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  /**
   * Claims the row when nobody holds a live lease and `reason` still holds, and records durably
   * that a refresh of the current token version is in flight (keeping the earlier start time
   * when a refresh of that same version was already in flight: the reuse leeway runs from it).
   */
  async claim(teamId: string, reason: ClaimReason, now: Date): Promise<RefreshLease | null> {
    const rows = rowsOf<{
      id: string; team_id: string; token_version: number; cloud_id: string | null; refresh_token: string | null;
      refresh_in_flight_since: Date | string;
    }>(await this.dataSource.query(
      `UPDATE jira_integrations SET refresh_lease_owner = $2, refresh_lease_expires_at = $3,
              refresh_in_flight_since = CASE WHEN refresh_in_flight_version = token_version
                                             THEN refresh_in_flight_since ELSE $4 END,
              refresh_in_flight_version = token_version
        WHERE team_id = $1 AND (refresh_lease_expires_at IS NULL OR refresh_lease_expires_at <= $4)
          AND ${CONDITIONS[reason.kind]}
        RETURNING id, team_id, token_version, cloud_id, refresh_token, refresh_in_flight_since`,
      [teamId, this.owner, new Date(now.getTime() + this.leaseMs), now, ...reasonParams(reason)],
    ));
    const row = rows[0];
    if (!row) return null;
    return {
      integrationId: row.id,
      teamId: row.team_id,
      owner: this.owner,
      version: row.token_version,
      cloudId: row.cloud_id,
      refreshTokenEnvelope: row.refresh_token,
      resumesUnknownOutcome: new Date(row.refresh_in_flight_since).getTime() < now.getTime(),
    };
  }

  /** Pushes the lease's expiry out (before a retry); false when the lease is no longer ours. */
  async extend(lease: RefreshLease, now: Date, extraMs = 0): Promise<boolean> {
    const [, affected] = (await this.dataSource.query(
      `UPDATE jira_integrations SET refresh_lease_expires_at = $4
        WHERE id = $1 AND refresh_lease_owner = $2 AND token_version = $3`,
      [lease.integrationId, lease.owner, lease.version, new Date(now.getTime() + this.leaseMs + extraMs)],
    )) as [unknown, number];
    return affected === 1;
  }

  /**
   * The common case of complete(): a row with no error recorded, so no status transition and no
   * transaction needed; one statement. False when it did not apply (then use complete()).
   */
  async completeQuietly(lease: RefreshLease, tokens: StoredTokens): Promise<boolean> {
    const [, affected] = (await this.dataSource.query(
      `UPDATE jira_integrations ${COMPLETE_SET}
        WHERE id = $1 AND refresh_lease_owner = $2 AND token_version = $3 AND last_error_code IS NULL`,
      this.completeParams(lease, tokens),
    )) as [unknown, number];
    return affected === 1;
  }

  /**
   * Stores access token, rotated refresh token and expiry in one conditional write inside `em`'s
   * (short) transaction, and ends the lease and the in-flight marker. Answers null when the lease
   * is no longer ours; otherwise the row's previous lastErrorCode (a "recovered" transition).
   */
  async complete(em: EntityManager, lease: RefreshLease, tokens: StoredTokens): Promise<{ previousErrorCode: string | null } | null> {
    const rows = rowsOf<{ previous_error_code: string | null }>(await em.query(
      `WITH prev AS (
         SELECT id, last_error_code FROM jira_integrations
          WHERE id = $1 AND refresh_lease_owner = $2 AND token_version = $3 FOR UPDATE)
       UPDATE jira_integrations ${COMPLETE_SET}
         FROM prev WHERE jira_integrations.id = prev.id
       RETURNING prev.last_error_code AS previous_error_code`,
      this.completeParams(lease, tokens),
    ));
    return rows[0] ? { previousErrorCode: rows[0].previous_error_code } : null;
  }

  private completeParams(lease: RefreshLease, tokens: StoredTokens): unknown[] {
    return [lease.integrationId, lease.owner, lease.version, tokens.accessTokenEnvelope, tokens.refreshTokenEnvelope,
      tokens.expiresAt, tokens.now, tokens.scopes];
  }

  /**
   * Atlassian refused the very refresh token of version `lease.version` (invalid_grant): wipe the
   * tokens, but only while that version is still the stored one (a token another holder has just
   * stored is never deleted because an older one was refused: superplane#6308). True on transition.
   */
  async markReauthorizationRequired(em: EntityManager, lease: RefreshLease, errorCode: string, now: Date): Promise<boolean> {
    const [, affected] = (await em.query(
      `UPDATE jira_integrations
          SET status = 'reauthorization_required', access_token = NULL, refresh_token = NULL, access_token_expires_at = NULL,
              token_version = token_version + 1, last_error_code = $3, last_error_at = $4,
              refresh_lease_owner = NULL, refresh_lease_expires_at = NULL,
              refresh_in_flight_version = NULL, refresh_in_flight_since = NULL, updated_at = $4
        WHERE id = $1 AND token_version = $2 AND ${LIVE}`,
      [lease.integrationId, lease.version, errorCode, now],
    )) as [unknown, number];
    return affected === 1;
  }

  /**
   * Gives the lease back after a failure. `outcomeKnown`: Atlassian answered, so nothing was
   * rotated and the in-flight marker goes too; otherwise (timeout, connection lost) the marker
   * stays and the recovery sweep presents the same refresh token again.
   */
  async release(lease: RefreshLease, opts: { outcomeKnown: boolean; errorCode?: string; now: Date }): Promise<void> {
    await this.dataSource.query(
      `UPDATE jira_integrations
          SET refresh_lease_owner = NULL, refresh_lease_expires_at = NULL,
              refresh_in_flight_version = CASE WHEN $4 THEN NULL ELSE refresh_in_flight_version END,
              refresh_in_flight_since = CASE WHEN $4 THEN NULL ELSE refresh_in_flight_since END,
              last_error_code = COALESCE($5, last_error_code),
              last_error_at = CASE WHEN $5::text IS NULL THEN last_error_at ELSE $6 END
        WHERE id = $1 AND refresh_lease_owner = $2 AND token_version = $3`,
      [lease.integrationId, lease.owner, lease.version, opts.outcomeKnown, opts.errorCode ?? null, opts.now],
    );
  }

  /**
   * We hold tokens Atlassian issued but lost the lease before storing them (the row moved on).
   * Which refresh token is now the grant's current one is unknown, so mark the stored version as
   * in flight: the recovery sweep presents it again inside the leeway and the chain is re-joined.
   */
  async markOutcomeUnknown(integrationId: string, now: Date): Promise<void> {
    await this.dataSource.query(
      `UPDATE jira_integrations
          SET refresh_in_flight_since = CASE WHEN refresh_in_flight_version = token_version
                                             THEN refresh_in_flight_since ELSE $2 END,
              refresh_in_flight_version = token_version
        WHERE id = $1 AND ${LIVE} AND refresh_token IS NOT NULL`,
      [integrationId, now],
    );
  }

  /** Records an error code on the row without touching tokens or the lease (e.g. unreadable credentials). */
  async recordError(teamId: string, errorCode: string, now: Date): Promise<void> {
    await this.dataSource.query(
      `UPDATE jira_integrations SET last_error_code = $2, last_error_at = $3
        WHERE team_id = $1 AND last_error_code IS DISTINCT FROM $2`,
      [teamId, errorCode, now],
    );
  }

  /** Teams with a refresh in flight whose lease has expired: the recovery sweep's work list. */
  async unfinished(now: Date, limit: number): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT team_id FROM jira_integrations
        WHERE refresh_in_flight_version IS NOT NULL AND refresh_in_flight_version = token_version AND ${LIVE}
          AND (refresh_lease_expires_at IS NULL OR refresh_lease_expires_at <= $1)
        ORDER BY refresh_in_flight_since LIMIT ${Number(limit)}`,
      [now],
    )) as { team_id: string }[];
    return rows.map((r) => r.team_id);
  }
}
