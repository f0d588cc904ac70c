import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock.js';
import { MetricsService, type TokenGrantType } from '../metrics/metrics.service.js';
import { NotificationOutbox } from '../notifications/notification-outbox.js';
import { AtlassianGateway, AtlassianTokenError, type TokenSet } from '../atlassian/atlassian.gateway.js';
import { retryDelayMs, shouldRetry, sleep, type RetryPolicy } from '../atlassian/retry-policy.js';
import { JiraErrorCode } from '../jira.errors.js';
import { ConcurrencyLimit, SlotWaitTimeout } from './concurrency-limit.js';
import {
  atlassianUnavailable, clientRejected, credentialsUnreadable, notConnected, reauthorizationRequired, refreshLockTimeout, scopeInsufficient,
  siteNotChosen,
} from './jira-token.errors.js';
import { LeaseWatch } from './lease-watch.js';
import { ReadBatch } from './read-batch.js';
import { leaseLive, RefreshLeaseStore, type ClaimReason, type ObservedRow, type RefreshLease } from './refresh-lease.js';
import { RefreshResults, type RefreshOutcome } from './refresh-results.js';
import { isUnreadable, TokenSealer } from './token-sealing.js';
import { UnauthorizedRefreshMemo } from './unauthorized-refresh-memo.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraSettings } from '../config/jira.config.js';

export { JIRA_REAUTHORIZATION_REQUIRED, type JiraReauthorizationRequiredEvent, type RefreshOutcome } from './refresh-results.js';

/** A token good for at least TOKEN_MIN_VALIDITY_MS more, and the site to call with it. */
/** A row read started ahead of getCredentials (JiraTokenManager.prefetch). */
export interface CredentialsPrefetch {
  readonly teamId: string;
  readonly read: Promise<ObservedRow | null>;
}

export interface JiraCredentials {
  accessToken: string;
  cloudId: string;
  expiresAt: Date;
}

export const TOKEN_MIN_VALIDITY_MS = 60_000;
/**
 * What a leased row gets new tokens with: its refresh token (3LO), or a service account's client
 * credential (a mint: nothing rotates, so nothing can be lost). `presented`: the refresh token.
 */
interface LeasedCredential {
  grant: TokenGrantType;
  presented?: string;
  call: (deadlineMs: number) => Promise<TokenSet>;
}

/**
 * A lease outlives the token call it covers by this much: every call's deadline ends at least this
 * long before its lease does (the lease is JIRA_HTTP_TIMEOUT_MS + this, counted from when the
 * claim was sent), which leaves room for the conditional store.
 */
const LEASE_MARGIN_MS = 2_000;

/**
 * Hands out Jira access tokens and refreshes them without ever losing a rotated refresh token,
 * and without holding a database connection or lock while Atlassian is called. One refresh is:
 *
 *   read → claim → call → conditional store, and otherwise wait.
 *
 * 1. read the row (shared by concurrent callers; batched across teams);
 * 2. claim a lease with one short UPDATE (owner, lease end in the database's time, token version,
 *    and a durable "refresh of version N in flight" marker); when another process holds the lease,
 *    wait for it in LeaseWatch instead;
 * 3. call Atlassian inside a concurrency slot, with a total deadline that ends before the lease;
 * 4. store access token, rotated refresh token and expiry with one UPDATE that only applies while
 *    the lease is ours and the version unchanged.
 *
 * A service account's row takes the same path: its due token is claimed under the same lease and
 * minted (client credentials) instead of refreshed, so one mint per expiry across all processes.
 *
 * What a failed call means comes from one table (refresh-outcome.ts). Once any attempt had an
 * unknown outcome, the marker stays until new tokens are stored or invalid_grant wipes the row;
 * JiraRefreshRecoveryJob presents the same refresh token again inside Atlassian's reuse leeway.
 * Every wait (same-process joiners, slots, another process's lease, backoff) ends by the caller's
 * deadline: JIRA_REFRESH_LOCK_TIMEOUT_MS after getAccessToken was called.
 */
@Injectable()
export class JiraTokenManager {
  private readonly logger = new Logger(JiraTokenManager.name);
  private readonly inFlight = new Map<string, Promise<JiraCredentials>>();
  private readonly reads = new Map<string, Promise<ObservedRow | null>>();
  private readonly reissuedFor401: UnauthorizedRefreshMemo;
  private readonly retry: RetryPolicy;
  private readonly limit: ConcurrencyLimit;
  readonly leases: RefreshLeaseStore;
  readonly watch: LeaseWatch;
  private readonly batch: ReadBatch;
  private readonly leaseMs: number;
  private readonly results: RefreshResults;

  private readonly config: JiraSettings;
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly gateway: AtlassianGateway,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
    private readonly metrics: MetricsService,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    private readonly outbox: NotificationOutbox,
    private readonly sealer: TokenSealer,
  ) {
    const config = (this.config = settings.jira);
    this.retry = { maxAttempts: config.refreshMaxAttempts, baseDelayMs: config.refreshBackoffMs, budgetMs: config.retryBudgetMs };
    this.limit = new ConcurrencyLimit(config.refreshConcurrency);
    this.reissuedFor401 = new UnauthorizedRefreshMemo(config.unauthorizedRefreshWindowMs);
    const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.leaseMs = config.httpTimeoutMs + LEASE_MARGIN_MS;
    this.leases = new RefreshLeaseStore(dataSource, owner, this.leaseMs);
    this.batch = new ReadBatch((teamId) => this.leases.observe(teamId), (teamIds) => this.leases.observeMany(teamIds));
    this.watch = new LeaseWatch((teamIds) => this.leases.observeMany(teamIds), this.leaseMs);
    this.results = new RefreshResults(dataSource, this.leases, clock, events, metrics, outbox, this.logger, sealer);
  }

  /**
   * A token valid for at least 60 s more; refreshes (once, shared) when the stored one is not.
   * Answers or fails within JIRA_REFRESH_LOCK_TIMEOUT_MS, whatever it waits on.
   */
  async getAccessToken(teamId: string): Promise<string> {
    return (await this.getCredentials(teamId)).accessToken;
  }

  /**
   * Like getAccessToken, with the site's cloudId (what JiraClient needs). A caller arriving while
   * this process refreshes the team joins that refresh (which started earlier, so its deadline
   * comes before the caller's own); concurrent callers share one read, and reads of many teams
   * asked for at once go out as one statement (ReadBatch).
   */
  async getCredentials(teamId: string, prefetched?: CredentialsPrefetch): Promise<JiraCredentials> {
    const deadline = this.deadline();
    const running = this.inFlight.get(teamId);
    if (running) return running;
    const row = await (prefetched?.teamId === teamId ? prefetched.read : this.sharedRead(teamId));
    return (await this.credentialsOf(teamId, row)) ?? this.singleFlight(teamId, deadline, row);
  }

  /**
   * Starts reading a team's row for a getCredentials that may follow, so that the read overlaps
   * other work (the SPA proxy runs it beside the membership check: one database round trip less
   * of latency per call). It only reads: a due token is refreshed by getCredentials, and only if
   * the caller gets that far; a prefetch nobody uses is dropped.
   */
  prefetch(teamId: string): CredentialsPrefetch {
    const read = this.sharedRead(teamId);
    read.catch(() => undefined); // an unused prefetch must not become an unhandled rejection
    return { teamId, read };
  }

  private deadline(): number {
    return performance.now() + this.config.refreshLockTimeoutMs;
  }

  private sharedRead(teamId: string): Promise<ObservedRow | null> {
    const pending = this.reads.get(teamId);
    if (pending) return pending;
    const read = this.batch.read(teamId).finally(() => this.reads.delete(teamId));
    this.reads.set(teamId, read);
    return read;
  }

  /**
   * Jira refused `rejectedAccessToken` (`status` 401, or 403/404 past its stored expiry): refresh
   * even though the row may look fresh, unless someone already replaced that token. A 401 for a
   * token that a 401-triggered refresh handed out less than JIRA_UNAUTHORIZED_REFRESH_WINDOW_SECONDS
   * ago is a scope problem: 502 jira_scope_insufficient, no further rotation.
   */
  async refreshRejected(teamId: string, rejectedAccessToken: string, status = 401): Promise<JiraCredentials> {
    if (status === 401 && this.reissuedFor401.reissuedRecently(teamId, rejectedAccessToken)) throw scopeInsufficient();
    const fresh = await this.replacementOf(teamId, rejectedAccessToken, this.deadline());
    if (status === 401) this.reissuedFor401.note(teamId, fresh.accessToken);
    return fresh;
  }

  private async replacementOf(teamId: string, rejectedAccessToken: string, deadline: number): Promise<JiraCredentials> {
    const running = this.inFlight.get(teamId);
    if (running) {
      const shared = await running.catch(() => undefined);
      if (shared && shared.accessToken !== rejectedAccessToken) return shared;
    }
    const row = await this.leases.observe(teamId);
    const current = await this.credentialsOf(teamId, row);
    if (current && current.accessToken !== rejectedAccessToken) return current;
    return this.singleFlight(teamId, deadline, row, row?.version);
  }

  /** The keep-alive's refresh of an idle row: never throws for one row's trouble. */
  refreshIdle(teamId: string, cutoff: Date): Promise<RefreshOutcome> {
    return this.backgroundRefresh(teamId, { kind: 'idle', cutoff });
  }

  /** The recovery sweep's refresh of a row whose earlier refresh has an unknown outcome. */
  recover(teamId: string): Promise<RefreshOutcome> {
    return this.backgroundRefresh(teamId, { kind: 'recovery' });
  }

  private async backgroundRefresh(teamId: string, reason: ClaimReason): Promise<RefreshOutcome> {
    const outcome = await this.claimAndRefresh(teamId, reason, this.deadline());
    return outcome.kind === 'held' ? { kind: 'skipped' } : outcome;
  }

  /** In-process single flight: one refresh per team at a time, every caller gets its result. */
  private singleFlight(teamId: string, deadline: number, seen: ObservedRow | null, forceVersion?: number): Promise<JiraCredentials> {
    const running = this.inFlight.get(teamId);
    if (running && forceVersion === undefined) return running;
    const flight = this.refreshOrWait(teamId, deadline, seen, forceVersion).finally(() => {
      if (this.inFlight.get(teamId) === flight) this.inFlight.delete(teamId);
    });
    this.inFlight.set(teamId, flight);
    return flight;
  }

  /**
   * The hot path: claim and refresh; when another process holds the lease, wait in LeaseWatch (no
   * connection, no slot held) until its token appears or its lease lapses, then look again. Ends
   * by `deadline` (503 jira_refresh_lock_timeout). `seen`: the row the caller just read, so a lease
   * it shows is waited on without trying to claim it first.
   */
  private async refreshOrWait(teamId: string, deadline: number, seen: ObservedRow | null, forceVersion?: number): Promise<JiraCredentials> {
    // undefined: try to claim; otherwise the row as last seen (null: no integration).
    let row: ObservedRow | null | undefined = seen && leaseLive(seen) ? seen : undefined;
    for (;;) {
      const fromClaim = row === undefined;
      if (row === undefined) {
        const validUntil = new Date(this.clock.nowMs() + TOKEN_MIN_VALIDITY_MS);
        const got = await this.claimAndRefresh(teamId, { kind: 'expiring', validUntil, forceVersion }, deadline);
        if (got.kind === 'token' && got.credentials) return got.credentials;
        // Held by another process (the claim reported the row), lost the lease, or no site: look again.
        row = got.kind === 'held' ? got.row : await this.leases.observe(teamId);
      }
      const fresh = forceVersion !== undefined && row?.version === forceVersion ? null : await this.credentialsOf(teamId, row);
      if (fresh) return fresh;
      if (performance.now() >= deadline) {
        this.metrics.refreshCompleted('lock_timeout');
        throw refreshLockTimeout();
      }
      // Leased: wait for the holder. Unleased yet not claimed: the claim waited on another writer
      // and its report predates it; look again with the next shared poll. A lease just ended: claim.
      if (leaseLive(row) || fromClaim) row = await this.watch.wait(row!, deadline);
      else row = undefined;
    }
  }

  /**
   * Claim the row for `reason` (inside a concurrency slot, waited for no longer than `deadline`)
   * and refresh it. `held`: not claimed; `row` is the row as the claim saw it (hot path only).
   */
  private async claimAndRefresh(teamId: string, reason: ClaimReason, deadline: number): Promise<RefreshOutcome | { kind: 'held'; row: ObservedRow | null }> {
    const release = await this.slot(deadline);
    let lease: RefreshLease;
    try {
      if (reason.kind === 'expiring') {
        const got = await this.leases.claimOrObserve(teamId, reason);
        if (!('lease' in got)) return { kind: 'held', row: got.row };
        lease = got.lease;
      } else {
        const got = await this.leases.claim(teamId, reason);
        if (!got) return { kind: 'skipped' };
        lease = got;
      }
    } finally {
      // Released here unless the lease was claimed: then the first call to Atlassian uses it.
      if (!lease!) release();
    }
    return this.refreshLeased(lease, release, deadline);
  }

  /** A concurrency slot, or 503 jira_refresh_lock_timeout when none comes free before `deadline`. */
  private async slot(deadline: number): Promise<() => void> {
    try {
      return await this.limit.acquire(deadline);
    } catch (err) {
      if (!(err instanceof SlotWaitTimeout)) throw err;
      this.metrics.refreshCompleted('lock_timeout');
      throw refreshLockTimeout();
    }
  }

  /** The leased row's refresh token or service-account credential, decrypted; null when it has none. */
  private credentialOf(lease: RefreshLease): LeasedCredential | null {
    if (lease.connectionType === 'service_account') {
      if (!lease.clientCredentialEnvelope) return null;
      const { clientId, clientSecret } = this.sealer.openClientCredential(lease.clientCredentialEnvelope, lease.teamId);
      return { grant: 'client_credentials', call: (ms) => this.gateway.mint(clientId, clientSecret, ms) };
    }
    if (!lease.refreshTokenEnvelope) return null;
    const refreshToken = this.sealer.open(lease.refreshTokenEnvelope, 'refresh_token', lease.teamId);
    return { grant: 'refresh_token', presented: refreshToken, call: (ms) => this.gateway.refresh(refreshToken, ms) };
  }

  /**
   * Calls Atlassian with the leased row's refresh token (or mints with its service-account
   * credential), holding `slot` for the call only; retries what the outcome table calls transient
   * while the lease is ours and the deadline allows.
   */
  private async refreshLeased(lease: RefreshLease, slot: () => void, deadline: number): Promise<RefreshOutcome> {
    let releaseSlot = slot;
    let credential: LeasedCredential;
    try {
      const found = this.credentialOf(lease);
      if (!found) {
        releaseSlot();
        return await this.results.reauthorizationRequired(lease);
      }
      credential = found;
    } catch (err) {
      releaseSlot();
      if (!isUnreadable(err)) throw err;
      await this.leases.release(lease, { clearMarker: !lease.resumesUnknownOutcome, errorCode: JiraErrorCode.CredentialsUnreadable });
      this.metrics.refreshCompleted('credentials_unreadable');
      this.logger.error(`The stored credential of team ${lease.teamId} cannot be decrypted: ${(err as Error).message}`);
      throw credentialsUnreadable();
    }
    const started = performance.now();
    // Sticky: once any answer about this token may have come after a rotation, only new tokens
    // stored or invalid_grant end the in-flight marker.
    let unknown = lease.resumesUnknownOutcome && credential.presented !== undefined;
    for (let attempt = 1; ; attempt++) {
      const done = this.metrics.tokenEndpointTimer(credential.grant);
      // The call ends before the lease does (by construction) and by the caller's deadline.
      const now = performance.now();
      const callMs = Math.min(this.config.httpTimeoutMs, lease.sentAt + this.leaseMs - LEASE_MARGIN_MS - now, deadline - now);
      let tokens: TokenSet;
      try {
        tokens = await credential.call(Math.max(1, callMs));
        done('ok');
        this.watch.recordTokenCallMs(performance.now() - now);
      } catch (err) {
        releaseSlot();
        if (!(err instanceof AtlassianTokenError)) {
          done('error');
          await this.leases.release(lease, { clearMarker: false });
          throw err;
        }
        done(err.kind);
        const { mayHaveRotated, next } = err.verdict;
        unknown ||= mayHaveRotated;
        if (next === 'reauthorize') return this.results.reauthorizationRequired(lease);
        if (next === 'client_rejected' || next === 'rejected') {
          await this.leases.release(lease, { clearMarker: !unknown, errorCode: JiraErrorCode.AtlassianClientRejected });
          this.metrics.refreshCompleted('client_rejected');
          this.logger.error(`Atlassian refused the ${credential.grant} request of team ${lease.teamId} (${err.message})`
            + (credential.presented ? '; check JIRA_CLIENT_ID/SECRET' : ''));
          throw clientRejected(err, credential.grant === 'client_credentials');
        }
        const delay = retryDelayMs(attempt, this.retry.baseDelayMs, err.retryAfterSeconds);
        const retry = shouldRetry(this.retry, attempt, performance.now() - started, delay) && performance.now() + delay < deadline
          && await this.leases.extend(lease, delay);
        if (retry) {
          await sleep(delay); // no slot held while sleeping
          releaseSlot = await this.slotForRetry(lease, deadline, unknown);
          if (await this.leases.extend(lease)) continue; // the next call's deadline counts from here
          releaseSlot();
          return { kind: 'lost' }; // wiped or reconnected meanwhile
        }
        const code = err.verdict.rateLimited ? JiraErrorCode.AtlassianRateLimited : JiraErrorCode.AtlassianUnavailable;
        await this.leases.release(lease, { clearMarker: !unknown, errorCode: code });
        this.metrics.refreshCompleted('transient_failure');
        this.logger.warn(`Jira token refresh for team ${lease.teamId} failed after ${attempt} attempt(s): ${err.message}`
          + (unknown ? '; Atlassian may have rotated: the recovery sweep presents the same token again' : ''));
        throw atlassianUnavailable(err.verdict.rateLimited ? 429 : err.httpStatus, Math.max(1, Math.ceil(delay / 1000)), err);
      }
      releaseSlot(); // the slot bounds calls to Atlassian; the next claim need not wait for this write
      return this.results.store(lease, tokens, credential.presented);
    }
  }

  /** A slot for the next attempt; on timeout the lease goes back (marker kept if the outcome is unknown). */
  private async slotForRetry(lease: RefreshLease, deadline: number, unknown: boolean): Promise<() => void> {
    try {
      return await this.slot(deadline);
    } catch (err) {
      await this.leases.release(lease, { clearMarker: !unknown });
      throw err;
    }
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
      accessToken = this.sealer.open(row.accessTokenEnvelope, 'access_token', teamId);
    } catch (err) {
      if (!isUnreadable(err)) throw err;
      await this.leases.recordError(teamId, JiraErrorCode.CredentialsUnreadable);
      throw credentialsUnreadable();
    }
    if (row.expiresAt.getTime() - this.clock.nowMs() <= TOKEN_MIN_VALIDITY_MS) return null;
    return { accessToken, cloudId: row.cloudId, expiresAt: row.expiresAt };
  }
}
