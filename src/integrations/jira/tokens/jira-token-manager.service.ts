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
import { LeaseWatch } from './lease-watch.js';
import { ReadBatch } from './read-batch.js';
import { RefreshLeaseStore, type ClaimReason, type ObservedRow, type RefreshLease } from './refresh-lease.js';
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

/** What one leased refresh came to. `lost`: the lease was taken over before we could finish. */
export type RefreshOutcome =
  | { kind: 'token'; credentials: JiraCredentials | null }
  | { kind: 'skipped' | 'lost' };

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
 * Callers in this process share one flight per team, waiting included: a flight that finds the
 * lease held by another process waits for it in LeaseWatch (one polling read per tick for all the
 * teams this process waits on, timed on the lease's expected end, outside the concurrency limit)
 * until the holder's token appears or its lease lapses. When the outcome of a call is
 * unknown (timeout, lost connection, crash), the marker stays and JiraRefreshRecoveryJob presents
 * the same refresh token again inside Atlassian's reuse leeway. Only a definite invalid_grant on
 * the stored token wipes tokens.
 */
@Injectable()
export class JiraTokenManager {
  private readonly logger = new Logger(JiraTokenManager.name);
  private readonly inFlight = new Map<string, Promise<JiraCredentials>>();
  private readonly reads = new Map<string, Promise<ObservedRow | null>>();
  private readonly retry: RetryPolicy;
  private readonly limit: ConcurrencyLimit;
  readonly leases: RefreshLeaseStore;
  readonly watch: LeaseWatch;
  private readonly batch: ReadBatch;

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
    const leaseMs = config.httpTimeoutMs + LEASE_MARGIN_MS;
    this.leases = new RefreshLeaseStore(dataSource, owner, leaseMs);
    this.batch = new ReadBatch((teamId) => this.leases.observe(teamId), (teamIds) => this.leases.observeMany(teamIds));
    this.watch = new LeaseWatch((teamIds) => this.leases.observeMany(teamIds), () => this.clock.nowMs(), leaseMs);
  }

  /** A token valid for at least 60 s more; refreshes (once, shared) when the stored one is not. */
  async getAccessToken(teamId: string): Promise<string> {
    return (await this.getCredentials(teamId)).accessToken;
  }

  /**
   * Like getAccessToken, with the site's cloudId (what JiraClient needs). A caller arriving while
   * this process refreshes the team joins that refresh; concurrent callers share one read, and
   * reads of many teams asked for at once go out as one statement (ReadBatch).
   */
  async getCredentials(teamId: string): Promise<JiraCredentials> {
    const running = this.inFlight.get(teamId);
    if (running) return running;
    const row = await this.sharedRead(teamId);
    return (await this.credentialsOf(teamId, row)) ?? this.singleFlight(teamId, undefined, row);
  }

  private sharedRead(teamId: string): Promise<ObservedRow | null> {
    const pending = this.reads.get(teamId);
    if (pending) return pending;
    const read = this.batch.read(teamId).finally(() => this.reads.delete(teamId));
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
    const row = await this.leases.observe(teamId);
    const current = await this.credentialsOf(teamId, row);
    if (current && current.accessToken !== rejectedAccessToken) return current;
    return this.singleFlight(teamId, row?.version, row);
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
  private singleFlight(teamId: string, forceVersion?: number, seen?: ObservedRow | null): Promise<JiraCredentials> {
    const running = this.inFlight.get(teamId);
    if (running && forceVersion === undefined) return running;
    const flight = this.refreshOrWait(teamId, forceVersion, seen).finally(() => {
      if (this.inFlight.get(teamId) === flight) this.inFlight.delete(teamId);
    });
    this.inFlight.set(teamId, flight);
    return flight;
  }

  /**
   * Claims the lease and refreshes (one statement that also reports the row when the claim fails);
   * when another process holds the lease, waits in LeaseWatch (no connection, no concurrency slot
   * held) until its token appears or the lease lapses, bounded by JIRA_REFRESH_LOCK_TIMEOUT_MS
   * (then 503 jira_refresh_lock_timeout). `seen`: the row the caller just read, so a lease it
   * shows is waited on without trying to claim it first.
   */
  private async refreshOrWait(teamId: string, forceVersion?: number, seen?: ObservedRow | null): Promise<JiraCredentials> {
    // A bound on waiting, so measured on the monotonic clock (the injected Clock may be frozen in tests).
    const deadline = performance.now() + this.config.refreshLockTimeoutMs;
    // undefined: try to claim; otherwise the row as last seen (null: no integration).
    let row: ObservedRow | null | undefined = seen && this.watch.leaseLive(seen) ? seen : undefined;
    for (;;) {
      const fromClaim = row === undefined;
      if (row === undefined) {
        const validUntil = new Date(this.clock.nowMs() + TOKEN_MIN_VALIDITY_MS);
        const attempt = await this.limit.run(async (release) => {
          const got = await this.leases.claimOrObserve(teamId, { kind: 'expiring', validUntil, forceVersion }, this.clock.now());
          return 'lease' in got ? { outcome: await this.refreshWithRetries(got.lease, release) } : got;
        });
        if ('outcome' in attempt) {
          if (attempt.outcome.kind === 'token' && attempt.outcome.credentials) return attempt.outcome.credentials;
          row = await this.leases.observe(teamId); // lost the lease, or no site: look again
        } else row = attempt.row;
      }
      const fresh = forceVersion !== undefined && row?.version === forceVersion ? null : await this.credentialsOf(teamId, row);
      if (fresh) return fresh;
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        this.metrics.refreshCompleted('lock_timeout');
        throw refreshLockTimeout();
      }
      // Leased: wait for the holder. Stale, unleased and yet not claimed: the claim waited on
      // another claim of the row and its report predates it; look again with the next shared poll.
      // Otherwise (a lease just ended): claim at once.
      if (this.watch.leaseLive(row) || fromClaim) row = await this.watch.wait(row!, deadline);
      else row = undefined;
    }
  }

  /** Claim (inside the concurrency bound), then refresh with retries. `skipped`: not claimed. */
  private leasedRefresh(teamId: string, reason: ClaimReason): Promise<RefreshOutcome> {
    return this.limit.run(async (release) => {
      const lease = await this.leases.claim(teamId, reason, this.clock.now());
      if (!lease) return { kind: 'skipped' } as const;
      return this.refreshWithRetries(lease, release);
    });
  }

  /** Calls Atlassian with the leased row's refresh token; retries transient failures while the lease is ours. */
  private async refreshWithRetries(lease: RefreshLease, releaseSlot: () => void): Promise<RefreshOutcome> {
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
      const callStarted = performance.now();
      try {
        tokens = await this.gateway.refresh(refreshToken);
        done('ok');
        this.watch.recordTokenCallMs(performance.now() - callStarted);
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
      releaseSlot(); // the slot bounds calls to Atlassian; the next claim need not wait for this write
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
   * The row's credentials if they are good for TOKEN_MIN_VALIDITY_MS more; null when a refresh is
   * needed; throws when there is nothing to refresh (not connected, no site yet, reauthorization
   * required). Decrypts only the access token (bench/RESULTS.md). An access token that cannot be
   * decrypted is recorded on the row and answered with 503 jira_credentials_unreadable.
   */
  private async credentialsOf(teamId: string, row: ObservedRow | null): Promise<JiraCredentials | null> {
    if (!row) throw notConnected();
    if (row.status === 'reauthorization_required') throw reauthorizationRequired();
    if (row.status !== 'connected' || !row.cloudId) throw siteNotChosen();
    if (!row.accessTokenEnvelope || !row.expiresAt) return null;
    let accessToken: string;
    try {
      accessToken = openToken(row.accessTokenEnvelope, 'access_token', teamId);
    } catch (err) {
      if (!isUnreadable(err)) throw err;
      await this.leases.recordError(teamId, JiraErrorCode.CredentialsUnreadable, this.clock.now());
      throw credentialsUnreadable();
    }
    if (row.expiresAt.getTime() - this.clock.nowMs() <= TOKEN_MIN_VALIDITY_MS) return null;
    return { accessToken, cloudId: row.cloudId, expiresAt: row.expiresAt };
  }

  /** Notifications to the product (issue 9, src/notifications/): recorded in the refresh's own transaction. */
  private notifyInTransaction(em: EntityManager, type: string, lease: RefreshLease): Promise<string | null> {
    return this.outbox.enqueue(em, { type, teamId: lease.teamId, data: { cloudId: lease.cloudId } });
  }
}
