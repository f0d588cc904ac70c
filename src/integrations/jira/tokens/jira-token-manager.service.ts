import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../../common/clock.js';
import { jiraConfig } from '../../../config/jira.config.js';
import { MetricsService } from '../../../metrics/metrics.service.js';
import { NotificationOutbox } from '../../../notifications/notification-outbox.js';
import { NotificationType } from '../../../notifications/notification-types.js';
import { AtlassianGateway, AtlassianTokenError, type TokenSet } from '../atlassian/atlassian.gateway.js';
import { retryDelayMs, shouldRetry, sleep, type RetryPolicy } from '../atlassian/retry-policy.js';
import { JiraErrorCode } from '../jira.errors.js';
import { JiraConnectionEvent, type JiraConnectionEventPayload } from '../jira.events.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import {
  atlassianUnavailable, clientRejected, credentialsUnreadable, notConnected, reauthorizationRequired, refreshLockTimeout, siteNotChosen,
} from './jira-token.errors.js';
import { RefreshLeaseStore, type ClaimReason, type RefreshLease } from './refresh-lease.js';
import { isUnreadable, openToken, sealToken } from './token-sealing.js';

/** Emitted once when a connection flips to `reauthorization_required` (payload below). */
export const JIRA_REAUTHORIZATION_REQUIRED = JiraConnectionEvent.ReauthorizationRequired;

export interface JiraReauthorizationRequiredEvent {
  teamId: string;
  integrationId: string;
}

/** A token good for at least TOKEN_MIN_VALIDITY_MS more, and the site to call with it. */
export interface JiraCredentials {
  accessToken: string;
  cloudId: string;
  expiresAt: Date;
}

export const TOKEN_MIN_VALIDITY_MS = 60_000;
/** A lease outlives the token call it covers by this much (the call itself is bounded by JIRA_HTTP_TIMEOUT_MS). */
const LEASE_MARGIN_MS = 2_000;

/** Pause before re-reading a row another process is refreshing: 20, 40, 80 … 200 ms, jittered ±50 %. */
export function lockPollDelayMs(waits: number, random: () => number = Math.random): number {
  const step = Math.min(200, 20 * 2 ** waits);
  return Math.round(step * (0.5 + random()));
}

/** What one leased refresh came to. `lost`: the lease was taken over before we could finish. */
export type RefreshOutcome =
  | { kind: 'token'; credentials: JiraCredentials | null }
  | { kind: 'skipped' | 'lost' };

interface UsableRow {
  status: string;
  cloudId: string | null;
  accessToken: string | null;
  expiresAt: Date | null;
}

/**
 * Hands out Jira access tokens and refreshes them without ever losing a rotated refresh token,
 * and without holding a database connection or lock while Atlassian is called:
 *
 * 1. claim a lease on the row with one short UPDATE (owner, expiry, token version, and a durable
 *    "refresh of version N in flight" marker), then let the connection go;
 * 2. call Atlassian, at most JIRA_REFRESH_CONCURRENCY at a time in this process;
 * 3. store access token, rotated refresh token and expiry with one conditional UPDATE that only
 *    succeeds while the lease is still ours and the version unchanged.
 *
 * Callers in this process share one flight per team; other processes poll the row (bounded,
 * jittered) until the holder's token appears or its lease expires. When the outcome of a call is
 * unknown (timeout, lost connection, crash), the marker stays and JiraRefreshRecoveryJob presents
 * the same refresh token again inside Atlassian's reuse leeway. Only a definite invalid_grant on
 * the stored token wipes tokens.
 */
@Injectable()
export class JiraTokenManager {
  private readonly logger = new Logger(JiraTokenManager.name);
  private readonly inFlight = new Map<string, Promise<JiraCredentials>>();
  private readonly reads = new Map<string, Promise<(UsableRow & { version: number }) | null>>();
  private readonly retry: RetryPolicy;
  private readonly limit: ConcurrencyLimit;
  readonly leases: RefreshLeaseStore;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly gateway: AtlassianGateway,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
    private readonly metrics: MetricsService,
    @Inject(jiraConfig.KEY) private readonly config: ConfigType<typeof jiraConfig>,
    private readonly outbox: NotificationOutbox,
  ) {
    this.retry = { maxAttempts: config.refreshMaxAttempts, baseDelayMs: config.refreshBackoffMs, budgetMs: config.retryBudgetMs };
    this.limit = new ConcurrencyLimit(config.refreshConcurrency);
    const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.leases = new RefreshLeaseStore(dataSource, owner, config.httpTimeoutMs + LEASE_MARGIN_MS);
  }

  /** A token valid for at least 60 s more; refreshes (once, shared) when the stored one is not. */
  async getAccessToken(teamId: string): Promise<string> {
    return (await this.getCredentials(teamId)).accessToken;
  }

  /**
   * Like getAccessToken, with the site's cloudId (what JiraClient needs). A caller arriving while
   * this process refreshes the team joins that refresh; concurrent callers share one read.
   */
  async getCredentials(teamId: string): Promise<JiraCredentials> {
    const running = this.inFlight.get(teamId);
    if (running) return running;
    return this.usable(await this.sharedRead(teamId)) ?? this.singleFlight(teamId);
  }

  private sharedRead(teamId: string): ReturnType<JiraTokenManager['readForUse']> {
    const pending = this.reads.get(teamId);
    if (pending) return pending;
    const read = this.readForUse(teamId).finally(() => this.reads.delete(teamId));
    this.reads.set(teamId, read);
    return read;
  }

  /**
   * Jira refused `rejectedAccessToken` (401, or 403/404 past its stored expiry): refresh even
   * though the row may look fresh, unless someone already replaced that token.
   */
  async refreshRejected(teamId: string, rejectedAccessToken: string): Promise<JiraCredentials> {
    const running = this.inFlight.get(teamId);
    if (running) {
      const shared = await running.catch(() => undefined);
      if (shared && shared.accessToken !== rejectedAccessToken) return shared;
    }
    const row = await this.readForUse(teamId);
    const current = this.usable(row);
    if (current && current.accessToken !== rejectedAccessToken) return current;
    return this.singleFlight(teamId, row?.version);
  }

  /** The keep-alive's refresh of an idle row: never throws for one row's trouble. */
  refreshIdle(teamId: string, cutoff: Date): Promise<RefreshOutcome> {
    return this.leasedRefresh(teamId, { kind: 'idle', cutoff });
  }

  /** The recovery sweep's refresh of a row whose earlier refresh has an unknown outcome. */
  recover(teamId: string): Promise<RefreshOutcome> {
    return this.leasedRefresh(teamId, { kind: 'recovery' });
  }

  /** In-process single flight: one refresh per team at a time, every caller gets its result. */
  private singleFlight(teamId: string, forceVersion?: number): Promise<JiraCredentials> {
    const running = this.inFlight.get(teamId);
    if (running && forceVersion === undefined) return running;
    const flight = this.refreshOrWait(teamId, forceVersion).finally(() => {
      if (this.inFlight.get(teamId) === flight) this.inFlight.delete(teamId);
    });
    this.inFlight.set(teamId, flight);
    return flight;
  }

  /**
   * Claims the lease and refreshes; when another process holds it, polls the row (no connection
   * held between polls) until its token appears or its lease lapses, bounded by
   * JIRA_REFRESH_LOCK_TIMEOUT_MS (then 503 jira_refresh_lock_timeout).
   */
  private async refreshOrWait(teamId: string, forceVersion?: number): Promise<JiraCredentials> {
    // A bound on waiting, so measured on the monotonic clock (the injected Clock may be frozen in tests).
    const deadline = performance.now() + this.config.refreshLockTimeoutMs;
    for (let waits = 0; ; waits++) {
      const validUntil = new Date(this.clock.nowMs() + TOKEN_MIN_VALIDITY_MS);
      const outcome = await this.leasedRefresh(teamId, { kind: 'expiring', validUntil, forceVersion });
      if (outcome.kind === 'token' && outcome.credentials) return outcome.credentials;
      const row = await this.readForUse(teamId);
      const fresh = this.usable(row);
      if (fresh && (forceVersion === undefined || row!.version !== forceVersion)) return fresh;
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        this.metrics.refreshCompleted('lock_timeout');
        throw refreshLockTimeout();
      }
      await sleep(Math.min(remaining, lockPollDelayMs(waits)));
    }
  }

  /** Claim (inside the concurrency bound), then refresh with retries. `skipped`: not claimed. */
  private leasedRefresh(teamId: string, reason: ClaimReason): Promise<RefreshOutcome> {
    return this.limit.run(async () => {
      const lease = await this.leases.claim(teamId, reason, this.clock.now());
      if (!lease) return { kind: 'skipped' } as const;
      return this.refreshWithRetries(lease);
    });
  }

  /** Calls Atlassian with the leased row's refresh token; retries transient failures while the lease is ours. */
  private async refreshWithRetries(lease: RefreshLease): Promise<RefreshOutcome> {
    if (!lease.refreshTokenEnvelope) return this.reauthorizationRequired(lease);
    let refreshToken: string;
    try {
      refreshToken = openToken(lease.refreshTokenEnvelope, 'refresh_token', lease.teamId);
    } catch (err) {
      if (!isUnreadable(err)) throw err;
      await this.leases.release(lease, { outcomeKnown: true, errorCode: JiraErrorCode.CredentialsUnreadable, now: this.clock.now() });
      this.metrics.refreshCompleted('credentials_unreadable');
      this.logger.error(`The stored refresh token of team ${lease.teamId} cannot be decrypted: ${err.message}`);
      throw credentialsUnreadable();
    }
    const started = this.clock.nowMs();
    for (let attempt = 1; ; attempt++) {
      const done = this.metrics.tokenEndpointTimer('refresh_token');
      let tokens: TokenSet;
      try {
        tokens = await this.gateway.refresh(refreshToken);
        done('ok');
      } catch (err) {
        if (!(err instanceof AtlassianTokenError)) {
          done('error');
          await this.leases.release(lease, { outcomeKnown: false, now: this.clock.now() });
          throw err;
        }
        done(err.kind);
        if (err.kind === 'invalid_grant') return this.reauthorizationRequired(lease);
        if (err.kind === 'client_rejected') {
          await this.leases.release(lease, { outcomeKnown: true, errorCode: JiraErrorCode.AtlassianClientRejected, now: this.clock.now() });
          this.metrics.refreshCompleted('client_rejected');
          this.logger.error(`Atlassian rejected the client credentials on refresh (${err.message}); check JIRA_CLIENT_ID/SECRET`);
          throw clientRejected(err);
        }
        // Transient. Without any answer (timeout, reset) Atlassian may have rotated: keep the marker.
        const outcomeKnown = err.httpStatus !== undefined;
        const delay = retryDelayMs(attempt, this.retry.baseDelayMs, err.retryAfterSeconds);
        if (shouldRetry(this.retry, attempt, this.clock.nowMs() - started, delay)
          && await this.leases.extend(lease, this.clock.now(), delay)) {
          await sleep(delay);
          continue;
        }
        const code = err.httpStatus === 429 ? JiraErrorCode.AtlassianRateLimited : JiraErrorCode.AtlassianUnavailable;
        await this.leases.release(lease, { outcomeKnown, errorCode: code, now: this.clock.now() });
        this.metrics.refreshCompleted('transient_failure');
        this.logger.warn(`Jira token refresh for team ${lease.teamId} failed after ${attempt} attempt(s): ${err.message}`
          + (outcomeKnown ? '' : '; outcome unknown, the recovery sweep will present the same token again'));
        throw atlassianUnavailable(err.httpStatus, Math.max(1, Math.ceil(delay / 1000)), err);
      }
      return this.store(lease, tokens, refreshToken);
    }
  }

  /** The conditional write of the new tokens, in a short transaction (the outbox joins it). */
  private async store(lease: RefreshLease, tokens: TokenSet, presented: string): Promise<RefreshOutcome> {
    if (!tokens.refreshToken) this.logger.warn(`Atlassian returned no refresh token for team ${lease.teamId}; keeping the stored one`);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + tokens.expiresInSeconds * 1000);
    const sealed = {
      accessTokenEnvelope: sealToken(tokens.accessToken, 'access_token', lease.teamId),
      refreshTokenEnvelope: sealToken(tokens.refreshToken ?? presented, 'refresh_token', lease.teamId),
      expiresAt,
      scopes: tokens.scopes,
      now,
    };
    // One statement when there is no status transition; otherwise the transaction the outbox joins.
    const written = await this.leases.completeQuietly(lease, sealed) ? { previousErrorCode: null }
      : await this.dataSource.transaction(async (em) => {
        const done = await this.leases.complete(em, lease, sealed);
        if (done?.previousErrorCode) await this.notifyInTransaction(em, NotificationType.Recovered, lease);
        return done;
      });
    if (!written) {
      // Our lease lapsed and the row moved on: which refresh token is current is now unknown.
      await this.leases.markOutcomeUnknown(lease.integrationId, this.clock.now());
      this.logger.warn(`Refresh lease of team ${lease.teamId} lapsed before its result was stored; the recovery sweep re-joins the chain`);
      return { kind: 'lost' };
    }
    this.metrics.refreshCompleted(lease.resumesUnknownOutcome ? 'recovered' : 'success');
    if (lease.resumesUnknownOutcome) this.logger.log(`Finished an interrupted Jira token refresh for team ${lease.teamId}`);
    if (written.previousErrorCode) {
      const event: JiraConnectionEventPayload = { teamId: lease.teamId, integrationId: lease.integrationId, cloudId: lease.cloudId };
      this.events.emit(JiraConnectionEvent.Recovered, event);
    }
    return {
      kind: 'token',
      credentials: lease.cloudId ? { accessToken: tokens.accessToken, cloudId: lease.cloudId, expiresAt } : null,
    };
  }

  /** Atlassian refused the stored refresh token (or there is none): wipe, in a short transaction, then tell. */
  private async reauthorizationRequired(lease: RefreshLease): Promise<never> {
    const transitioned = await this.dataSource.transaction(async (em) => {
      const changed = await this.leases.markReauthorizationRequired(em, lease, JiraErrorCode.ReauthorizationRequired, this.clock.now());
      if (changed) await this.notifyInTransaction(em, NotificationType.ReauthorizationRequired, lease);
      return changed;
    });
    if (transitioned) {
      this.metrics.refreshCompleted('invalid_grant');
      this.logger.warn(`Atlassian rejected the refresh token of team ${lease.teamId}; reauthorization required`);
      const event: JiraReauthorizationRequiredEvent = { teamId: lease.teamId, integrationId: lease.integrationId };
      this.events.emit(JIRA_REAUTHORIZATION_REQUIRED, event);
    }
    throw reauthorizationRequired();
  }

  /**
   * The hot path: one indexed SELECT of just what usable() reads (no entity hydration, no
   * decryption of the refresh token: bench/RESULTS.md). An access token that cannot be decrypted
   * is recorded on the row and answered with 503 jira_credentials_unreadable.
   */
  private async readForUse(teamId: string): Promise<(UsableRow & { version: number }) | null> {
    const rows: { status: string; cloud_id: string | null; access_token: string | null; expires_at: Date | string | null; token_version: number }[] =
      await this.dataSource.query(
        `SELECT status, cloud_id, access_token, access_token_expires_at AS expires_at, token_version
           FROM jira_integrations WHERE team_id = $1`,
        [teamId]);
    const r = rows[0];
    if (!r) return null;
    let accessToken: string | null = null;
    if (r.access_token !== null && r.status === 'connected') {
      try {
        accessToken = openToken(r.access_token, 'access_token', teamId);
      } catch (err) {
        if (!isUnreadable(err)) throw err;
        await this.leases.recordError(teamId, JiraErrorCode.CredentialsUnreadable, this.clock.now());
        throw credentialsUnreadable();
      }
    }
    return {
      status: r.status,
      cloudId: r.cloud_id,
      accessToken,
      expiresAt: r.expires_at === null ? null : new Date(r.expires_at),
      version: r.token_version,
    };
  }

  /** Notifications to the product (issue 9, src/notifications/): recorded in the refresh's own transaction. */
  private notifyInTransaction(em: EntityManager, type: string, lease: RefreshLease): Promise<string | null> {
    return this.outbox.enqueue(em, { type, teamId: lease.teamId, data: { cloudId: lease.cloudId } });
  }

  /**
   * The stored credentials if they are good for TOKEN_MIN_VALIDITY_MS more; null when a refresh
   * is needed; throws when there is nothing to refresh (not connected, no site yet, reauthorization required).
   */
  private usable(row: UsableRow | null): JiraCredentials | null {
    if (!row) throw notConnected();
    if (row.status === 'reauthorization_required') throw reauthorizationRequired();
    if (row.status !== 'connected' || !row.cloudId) throw siteNotChosen();
    if (!row.accessToken || !row.expiresAt) return null;
    if (row.expiresAt.getTime() - this.clock.nowMs() <= TOKEN_MIN_VALIDITY_MS) return null;
    return { accessToken: row.accessToken, cloudId: row.cloudId, expiresAt: row.expiresAt };
  }
}
