import type { DataSource, EntityManager, Repository, SelectQueryBuilder } from 'typeorm';
import { JiraIntegration, KEEP_UPDATED_AT } from '../entities/jira-integration.entity.js';

/*
 * Not a lease of the job runner (jobs/): this one is part of the refresh correctness protocol. It
 * is taken by callers on the hot path as well as by jobs, is fenced (owner + token version, ends
 * in the database's time), and is written in the same statements that store the rotated tokens,
 * so it lives on the integration row rather than in a job table.
 */

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

/**
 * A claimed row: ours to refresh for token version `version` only, until the lease's end in the
 * database's time, which is at least `leaseMs` after `sentAt` (this process's monotonic clock
 * when the claim or last extension was sent): a call that ends by `sentAt + leaseMs` ends inside it.
 */
export interface RefreshLease {
  integrationId: string;
  teamId: string;
  owner: string;
  version: number;
  cloudId: string | null;
  /** Ciphertext of the refresh token being presented (decrypted by the caller). */
  refreshTokenEnvelope: string | null;
  /** `service_account`: the lease mints a token with the sealed client credential instead of refreshing. */
  connectionType: string;
  clientCredentialEnvelope: string | null;
  /** True when an earlier refresh of this version was already in flight (its outcome unknown). */
  resumesUnknownOutcome: boolean;
  /** performance.now() when the claim (or the last extension) was sent. */
  sentAt: number;
}

/** What a reader needs of a row: to use its token, or to wait on (or take over) its lease. */
export interface ObservedRow {
  teamId: string;
  status: string;
  cloudId: string | null;
  /** Ciphertext of the access token. */
  accessTokenEnvelope: string | null;
  expiresAt: Date | null;
  version: number;
  /**
   * What was left of the current refresh lease (whoever holds it) when the database answered,
   * measured on the database's clock; null when there is none. Lease times are never compared
   * with this process's clock, so a skewed or stalled process cannot misjudge them.
   */
  leaseRemainingMs: number | null;
  /** performance.now() when the read was answered (with leaseRemainingMs: when the lease ends here). */
  observedAt: number;
}

/** True while `row` shows a lease nobody may take over yet. */
export function leaseLive(row: ObservedRow | null): row is ObservedRow & { leaseRemainingMs: number } {
  return row?.leaseRemainingMs != null && performance.now() < row.observedAt + row.leaseRemainingMs;
}

interface ObservedColumns {
  team_id: string; status: string; cloud_id: string | null; access_token: string | null;
  expires_at: Date | string | null; token_version: number; lease_remaining_ms: number | string | null;
}

/** The columns of ObservedRow (expressions on the table aliased `t`), for the reads and for the claim's report of a row it did not claim. */
const OBSERVED: Record<keyof ObservedColumns, (t: string) => string> = {
  team_id: (t) => `${t}.team_id`,
  status: (t) => `${t}.status`,
  cloud_id: (t) => `${t}.cloud_id`,
  access_token: (t) => `${t}.access_token`,
  expires_at: (t) => `${t}.access_token_expires_at`,
  token_version: (t) => `${t}.token_version`,
  lease_remaining_ms: (t) => `CASE WHEN ${t}.refresh_lease_expires_at > clock_timestamp()
            THEN (EXTRACT(EPOCH FROM ${t}.refresh_lease_expires_at - clock_timestamp()) * 1000)::float8 END`,
};
const observedColumns = (t: string): string => Object.entries(OBSERVED).map(([alias, expr]) => `${expr(t)} AS ${alias}`).join(', ');

/** A SELECT of the observed columns (raw: the access token stays sealed, opened by the token manager only when used). */
function observing(integrations: Repository<JiraIntegration>): SelectQueryBuilder<JiraIntegration> {
  const query = integrations.createQueryBuilder('j').select([]);
  for (const [alias, expr] of Object.entries(OBSERVED)) query.addSelect(expr('j'), alias);
  return query;
}

const toDate = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));

function observed(r: ObservedColumns, observedAt = performance.now()): ObservedRow {
  return {
    teamId: r.team_id, status: r.status, cloudId: r.cloud_id, accessTokenEnvelope: r.access_token,
    expiresAt: toDate(r.expires_at), version: r.token_version,
    leaseRemainingMs: r.lease_remaining_ms === null ? null : Number(r.lease_remaining_ms), observedAt,
  };
}

/** The new tokens to store, already encrypted. `expiresAt` comes from the injected clock (token-expiry maths). */
export interface StoredTokens {
  accessTokenEnvelope: string;
  /** Null for a service account's mint (it has none). */
  refreshTokenEnvelope: string | null;
  expiresAt: Date;
  scopes: string[];
  /** The injected clock's now: last_refreshed_at feeds the keep-alive's idle maths. */
  now: Date;
}

const LIVE = `status IN ('connected', 'pending_site_selection')`;

const CONDITIONS: Record<ClaimReason['kind'], string> = {
  expiring: `status = 'connected' AND (access_token IS NULL OR access_token_expires_at IS NULL
             OR access_token_expires_at <= $4 OR token_version = $5)`,
  idle: `${LIVE} AND refresh_token IS NOT NULL AND COALESCE(last_refreshed_at, connected_at) < $4`,
  recovery: `${LIVE} AND refresh_token IS NOT NULL AND refresh_in_flight_version = token_version`,
};

/** The success write: new tokens and version, lease and in-flight marker and error cleared ($4..$8). */
const COMPLETE_SET = `SET access_token = $4, refresh_token = $5, access_token_expires_at = $6, last_refreshed_at = $8,
    scopes = CASE WHEN cardinality($7::text[]) > 0 THEN $7::text[] ELSE jira_integrations.scopes END,
    token_version = jira_integrations.token_version + 1, last_error_code = NULL, last_error_at = NULL,
    refresh_lease_owner = NULL, refresh_lease_expires_at = NULL,
    refresh_in_flight_version = NULL, refresh_in_flight_since = NULL, updated_at = now()`;

/** $4 (and $5) of the claim. */
function reasonParams(reason: ClaimReason): unknown[] {
  if (reason.kind === 'expiring') return [reason.validUntil, reason.forceVersion ?? -1];
  if (reason.kind === 'idle') return [reason.cutoff];
  return [];
}

interface ClaimedColumns {
  id: string; team_id: string; token_version: number; cloud_id: string | null; refresh_token: string | null;
  resumes: boolean; connection_type: string; client_credential: string | null;
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
 * version it refreshed must still be the stored one. Lease times are the database's
 * (`clock_timestamp()`), never a process's: instances with skewed clocks agree on them.
 */
export class RefreshLeaseStore {
  constructor(
    private readonly dataSource: DataSource,
    readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  private get integrations(): Repository<JiraIntegration> {
    return this.dataSource.getRepository(JiraIntegration);
  }

  /** The hot path's read: one indexed SELECT of just what a caller uses or waits on. */
  async observe(teamId: string): Promise<ObservedRow | null> {
    // Raw: every token read; the query builder's form of this same SELECT measured 280 µs a read against 225 µs raw (local PostgreSQL, 3 × 3000 reads).
    const rows = (await this.dataSource.query(`SELECT ${observedColumns('j')} FROM jira_integrations j WHERE team_id = $1`, [teamId])) as ObservedColumns[];
    return rows[0] ? observed(rows[0]) : null;
  }

  /** The same for many teams in one statement: the shared poll of every lease this process waits on. */
  async observeMany(teamIds: string[]): Promise<ObservedRow[]> {
    const rows = (await observing(this.integrations).where('j.team_id = ANY(CAST(:teamIds AS text[]))', { teamIds }).getRawMany()) as ObservedColumns[];
    return rows.map((r) => observed(r));
  }

  /**
   * claim() and, in the same statement, the row as it stood: a caller that does not get the lease
   * learns at once whether the token is already fresh or whose lease to wait on, and until when,
   * without a second read. `row` is null when the team has no integration.
   */
  async claimOrObserve(teamId: string, reason: ClaimReason): Promise<{ lease: RefreshLease } | { row: ObservedRow | null }> {
    const sentAt = performance.now();
    // Raw: one statement per claim (test/token-refresh-statements.e2e-spec.ts); TypeORM cannot join an UPDATE … RETURNING CTE: a claim, then a read.
    const rows = rowsOf<ObservedColumns & {
      id: string; claimed: string | null; claimed_version: number; claimed_cloud_id: string | null;
      refresh_token: string | null; resumes: boolean | null; connection_type: string; client_credential: string | null;
    }>(await this.dataSource.query(
      `WITH claimed AS (${this.claimSql(reason)})
       SELECT j.id, ${observedColumns('j')}, c.id AS claimed, c.token_version AS claimed_version,
              c.cloud_id AS claimed_cloud_id, c.refresh_token, c.resumes, c.connection_type, c.client_credential
         FROM jira_integrations j LEFT JOIN claimed c ON c.id = j.id
        WHERE j.team_id = $1`,
      this.claimParams(teamId, reason),
    ));
    const row = rows[0];
    if (!row) return { row: null };
    if (!row.claimed) return { row: observed(row) };
    // The claimed row's own values: after waiting on another writer's lock, the claim may have
    // applied to a newer version than the statement's snapshot (the `j` columns) shows.
    return {
      lease: this.lease({ ...row, token_version: row.claimed_version, cloud_id: row.claimed_cloud_id, resumes: Boolean(row.resumes) }, sentAt),
    };
  }

  /**
   * Claims the row when nobody holds a live lease and `reason` still holds, and records durably
   * that a refresh of the current token version is in flight (keeping the earlier start time
   * when a refresh of that same version was already in flight: the reuse leeway runs from it).
   */
  async claim(teamId: string, reason: ClaimReason): Promise<RefreshLease | null> {
    const sentAt = performance.now();
    // Raw: the lease's compare-and-set (fencing, see the class comment); the ORM form would also write updated_at on every claim.
    const rows = rowsOf<ClaimedColumns>(await this.dataSource.query(this.claimSql(reason), this.claimParams(teamId, reason)));
    return rows[0] ? this.lease(rows[0], sentAt) : null;
  }

  /**
   * `resumes`: the in-flight marker was already set for this version (its since-time predates
   * this statement's now()); a marker set by this claim carries this statement's now().
   */
  private claimSql(reason: ClaimReason): string {
    return `UPDATE jira_integrations
          SET refresh_lease_owner = $2, refresh_lease_expires_at = clock_timestamp() + $3::float8 * interval '1 millisecond',
              refresh_in_flight_since = CASE WHEN refresh_in_flight_version = token_version
                                             THEN refresh_in_flight_since ELSE now() END,
              refresh_in_flight_version = token_version
        WHERE team_id = $1 AND (refresh_lease_expires_at IS NULL OR refresh_lease_expires_at <= clock_timestamp())
          AND ${CONDITIONS[reason.kind]}
        RETURNING id, team_id, token_version, cloud_id, refresh_token, refresh_in_flight_since < now() AS resumes,
                  connection_type, client_credential`;
  }

  private claimParams(teamId: string, reason: ClaimReason): unknown[] {
    return [teamId, this.owner, this.leaseMs, ...reasonParams(reason)];
  }

  private lease(row: ClaimedColumns, sentAt: number): RefreshLease {
    return {
      integrationId: row.id,
      teamId: row.team_id,
      owner: this.owner,
      version: row.token_version,
      cloudId: row.cloud_id,
      refreshTokenEnvelope: row.refresh_token,
      connectionType: row.connection_type,
      clientCredentialEnvelope: row.client_credential,
      resumesUnknownOutcome: Boolean(row.resumes),
      sentAt,
    };
  }

  /**
   * Renews the lease to `leaseMs + extraMs` from now (database time) and moves `lease.sentAt`
   * to when this was sent; false when the lease is no longer ours.
   */
  async extend(lease: RefreshLease, extraMs = 0): Promise<boolean> {
    const sentAt = performance.now();
    // Raw: fenced by owner and version (compare-and-set); the ORM form would also write updated_at on every extension.
    const [, affected] = (await this.dataSource.query(
      `UPDATE jira_integrations SET refresh_lease_expires_at = clock_timestamp() + $4::float8 * interval '1 millisecond'
        WHERE id = $1 AND refresh_lease_owner = $2 AND token_version = $3`,
      [lease.integrationId, lease.owner, lease.version, this.leaseMs + extraMs],
    )) as [unknown, number];
    if (affected === 1) lease.sentAt = sentAt;
    return affected === 1;
  }

  /**
   * The common case of complete(): a row with no error recorded, so no status transition and no
   * transaction needed; one statement. False when it did not apply (then use complete()).
   */
  async completeQuietly(lease: RefreshLease, tokens: StoredTokens): Promise<boolean> {
    // Raw: the refresh's one write (test/token-refresh-statements.e2e-spec.ts counts it), fenced by owner and version.
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
    // Raw: one fenced statement that also returns the previous error; the ORM form is a locked read and then an update (two round trips).
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
      tokens.expiresAt, tokens.scopes, tokens.now];
  }

  /**
   * Atlassian refused the very refresh token of version `lease.version` (invalid_grant), or a
   * service account's credential (invalid_client): wipe the tokens and the refused credential, but only while that version is still the stored one (a token another holder has just
   * stored is never deleted because an older one was refused: superplane#6308). True on transition.
   */
  async markReauthorizationRequired(em: EntityManager, lease: RefreshLease, errorCode: string): Promise<boolean> {
    // Raw: fenced by version (compare-and-set on token_version, superplane#6308), in the caller's transaction.
    const [, affected] = (await em.query(
      `UPDATE jira_integrations
          SET status = 'reauthorization_required', access_token = NULL, refresh_token = NULL, access_token_expires_at = NULL,
              client_credential = NULL,
              token_version = token_version + 1, last_error_code = $3, last_error_at = now(),
              refresh_lease_owner = NULL, refresh_lease_expires_at = NULL,
              refresh_in_flight_version = NULL, refresh_in_flight_since = NULL, updated_at = now()
        WHERE id = $1 AND token_version = $2 AND ${LIVE}`,
      [lease.integrationId, lease.version, errorCode],
    )) as [unknown, number];
    return affected === 1;
  }

  /**
   * Gives the lease back after a failure. `clearMarker` only when every answer about this token
   * version was definite (refresh-outcome.ts): the marker, once set by an unknown outcome, stays
   * until new tokens are stored or invalid_grant wipes the row, and the recovery sweep presents
   * the same refresh token again meanwhile.
   */
  async release(lease: RefreshLease, opts: { clearMarker: boolean; errorCode?: string }): Promise<void> {
    // Raw: fenced by owner and version (compare-and-set), one statement on the refresh's failure path.
    await this.dataSource.query(
      `UPDATE jira_integrations
          SET refresh_lease_owner = NULL, refresh_lease_expires_at = NULL,
              refresh_in_flight_version = CASE WHEN $4 THEN NULL ELSE refresh_in_flight_version END,
              refresh_in_flight_since = CASE WHEN $4 THEN NULL ELSE refresh_in_flight_since END,
              last_error_code = COALESCE($5, last_error_code),
              last_error_at = CASE WHEN $5::text IS NULL THEN last_error_at ELSE now() END
        WHERE id = $1 AND refresh_lease_owner = $2 AND token_version = $3`,
      [lease.integrationId, lease.owner, lease.version, opts.clearMarker, opts.errorCode ?? null],
    );
  }

  /**
   * We hold tokens Atlassian issued for version `version` but lost the lease before storing them.
   * Mark that version (and only it: a newer one, e.g. after a reconnect, is another grant) as in
   * flight, so the recovery sweep presents it again inside the leeway and re-joins the chain.
   */
  async markOutcomeUnknown(integrationId: string, version: number): Promise<void> {
    // Raw: fenced by version (compare-and-set); the marker's since-time keeps its first value (a CASE on the row).
    await this.dataSource.query(
      `UPDATE jira_integrations
          SET refresh_in_flight_since = CASE WHEN refresh_in_flight_version = token_version
                                             THEN refresh_in_flight_since ELSE now() END,
              refresh_in_flight_version = token_version
        WHERE id = $1 AND token_version = $2 AND ${LIVE} AND refresh_token IS NOT NULL`,
      [integrationId, version],
    );
  }

  /** Records an error code on the row without touching tokens or the lease (e.g. unreadable credentials). */
  async recordError(teamId: string, errorCode: string): Promise<void> {
    await this.integrations.createQueryBuilder().update().set({ lastErrorCode: errorCode, lastErrorAt: () => 'now()', ...KEEP_UPDATED_AT })
      .where('team_id = :teamId AND last_error_code IS DISTINCT FROM :errorCode', { teamId, errorCode }).execute();
  }

  /** Teams with a refresh in flight whose lease has expired (database time): the recovery sweep's work list. */
  async unfinished(limit: number): Promise<string[]> {
    const rows = (await this.integrations.createQueryBuilder('j').select('j.team_id', 'team_id')
      .where(`j.refresh_in_flight_version IS NOT NULL AND j.refresh_in_flight_version = j.token_version AND j.${LIVE}
          AND j.refresh_token IS NOT NULL
          AND (j.refresh_lease_expires_at IS NULL OR j.refresh_lease_expires_at <= clock_timestamp())`)
      .orderBy('j.refresh_in_flight_since').limit(limit).getRawMany()) as { team_id: string }[];
    return rows.map((r) => r.team_id);
  }
}
