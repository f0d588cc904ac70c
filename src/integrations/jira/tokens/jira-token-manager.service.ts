import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../../common/clock.js';
import { columnCipher } from '../../../common/crypto/encrypted-column.transformer.js';
import { jiraConfig } from '../../../config/jira.config.js';
import { MetricsService } from '../../../metrics/metrics.service.js';
import { NotificationOutbox } from '../../../notifications/notification-outbox.js';
import { NotificationType } from '../../../notifications/notification-types.js';
import { AtlassianGateway, AtlassianTokenError, type TokenSet } from '../atlassian/atlassian.gateway.js';
import { JiraIntegration } from '../entities/jira-integration.entity.js';
import { JiraErrorCode } from '../jira.errors.js';
import { JiraConnectionEvent } from '../jira.events.js';
import {
  atlassianUnavailable, clientRejected, notConnected, reauthorizationRequired, refreshLockTimeout, siteNotChosen,
} from './jira-token.errors.js';
import { retryDelayMs, shouldRetry, sleep, type RetryPolicy } from '../atlassian/retry-policy.js';

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

/** Pause before re-reading a row another process holds: 20, 40, 80 … 200 ms, jittered ±50 %. */
export function lockPollDelayMs(waits: number, random: () => number = Math.random): number {
  const step = Math.min(200, 20 * 2 ** waits);
  return Math.round(step * (0.5 + random()));
}

/** What one refresh of a locked row came to (see refreshLocked). */
export type LockedRefreshResult =
  | { kind: 'token'; credentials: JiraCredentials; refreshed: boolean }
  | { kind: 'reauthorization_required'; transitioned: boolean; teamId: string; integrationId: string }
  | { kind: 'client_rejected' | 'transient'; error: AtlassianTokenError };

/** Postgres `lock_not_available` (55P03): `NOWAIT` found the row locked. */
const isLockNotAvailable = (err: unknown): boolean =>
  (err as { code?: string; driverError?: { code?: string } })?.code === '55P03'
  || (err as { driverError?: { code?: string } })?.driverError?.code === '55P03';

/**
 * Hands out Jira access tokens and refreshes them without ever losing a rotated refresh token.
 *
 * A refresh happens at most once per expiry across all processes: concurrent callers in this
 * process share one promise (single flight); across processes, the refresher holds the row's
 * `FOR UPDATE` lock while it calls Atlassian and writes the new access token, refresh token and
 * expiry in that same transaction. Other processes do not queue on that lock holding a database
 * connection: they poll (lockedAttempt), and the next to get the lock, or to re-read the row,
 * finds the fresh token. If the HTTP call succeeded but the commit did not (crash, lost connection), the old
 * refresh token stays stored and Atlassian's 10-minute reuse leeway lets the next attempt use it.
 */
@Injectable()
export class JiraTokenManager {
  private readonly logger = new Logger(JiraTokenManager.name);
  private readonly inFlight = new Map<string, Promise<JiraCredentials>>();
  private readonly retry: RetryPolicy;

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
  }

  /** A token valid for at least 60 s more; refreshes (once, shared) when the stored one is not. */
  async getAccessToken(teamId: string): Promise<string> {
    return (await this.getCredentials(teamId)).accessToken;
  }

  /** Like getAccessToken, with the site's cloudId (what JiraClient needs). */
  async getCredentials(teamId: string): Promise<JiraCredentials> {
    return this.usable(await this.readForUse(teamId)) ?? this.refreshOnce(teamId);
  }

  /**
   * The hot path: one indexed SELECT of just what usable() reads. Skipping entity hydration and the
   * refresh token's decryption took getAccessToken from 0.68 to ~0.9 of the floor (bench/RESULTS.md).
   */
  private async readForUse(teamId: string): Promise<JiraIntegration | null> {
    const rows: { status: JiraIntegration['status']; cloud_id: string | null; access_token: string | null; expires_at: Date | string | null }[] =
      await this.dataSource.query(
        'SELECT status, cloud_id, access_token, access_token_expires_at AS expires_at FROM jira_integrations WHERE team_id = $1',
        [teamId]);
    const r = rows[0];
    if (!r) return null;
    return Object.assign(new JiraIntegration(), {
      teamId,
      status: r.status,
      cloudId: r.cloud_id,
      accessToken: r.access_token === null ? null : columnCipher().decrypt(r.access_token, 'access_token'),
      accessTokenExpiresAt: r.expires_at === null ? null : new Date(r.expires_at),
    });
  }

  /**
   * Jira answered 401 to `rejectedAccessToken` before its stored expiry (e.g. revoked server-side):
   * refresh even though the row looks fresh, unless someone already replaced that token.
   */
  async refreshRejected(teamId: string, rejectedAccessToken: string): Promise<JiraCredentials> {
    const running = this.inFlight.get(teamId);
    if (running) {
      const shared = await running.catch(() => undefined);
      if (shared && shared.accessToken !== rejectedAccessToken) return shared;
    }
    return this.refreshOnce(teamId, rejectedAccessToken);
  }

  /** In-process single flight: one refresh per team at a time, every caller gets its result. */
  private refreshOnce(teamId: string, rejected?: string): Promise<JiraCredentials> {
    const running = this.inFlight.get(teamId);
    if (running && rejected === undefined) return running;
    const flight = this.refreshWithRetries(teamId, rejected).finally(() => {
      if (this.inFlight.get(teamId) === flight) this.inFlight.delete(teamId);
    });
    this.inFlight.set(teamId, flight);
    return flight;
  }

  /** Lock, re-read, refresh; on transient failures back off (without the lock) and try again. */
  private async refreshWithRetries(teamId: string, rejected?: string): Promise<JiraCredentials> {
    const started = this.clock.nowMs();
    for (let attempt = 1; ; attempt++) {
      const result = await this.lockedAttempt(teamId, rejected);
      this.afterCommit(result);
      if (result.kind === 'token') return result.credentials;
      if (result.kind === 'reauthorization_required') throw reauthorizationRequired();
      if (result.kind === 'client_rejected') throw clientRejected(result.error);
      const delay = retryDelayMs(attempt, this.retry.baseDelayMs, result.error.retryAfterSeconds);
      if (!shouldRetry(this.retry, attempt, this.clock.nowMs() - started, delay)) {
        this.metrics.refreshCompleted('transient_failure');
        this.logger.warn(`Jira token refresh for team ${teamId} failed after ${attempt} attempt(s): ${result.error.message}`);
        throw atlassianUnavailable(result.error.httpStatus, Math.max(1, Math.ceil(delay / 1000)), result.error);
      }
      await sleep(delay);
    }
  }

  /**
   * Takes the row lock without waiting (`FOR UPDATE NOWAIT`). When another process holds it, that
   * process is almost certainly refreshing this very token: rather than parking a pooled
   * connection in a lock queue (a storm would tie up every connection of the pool and stall the
   * rest of the app), let the connection go, re-read the row without a lock after a short jittered
   * pause, and take the other process's fresh token, or try the lock again. Bounded by
   * JIRA_REFRESH_LOCK_TIMEOUT_MS, then 503 jira_refresh_lock_timeout.
   */
  private async lockedAttempt(teamId: string, rejected?: string): Promise<LockedRefreshResult> {
    // A bound on waiting, so measured on the monotonic clock (the injected Clock may be frozen in tests).
    const deadline = performance.now() + this.config.refreshLockTimeoutMs;
    for (let waits = 0; ; waits++) {
      try {
        return await this.dataSource.transaction(async (em) => {
          const row = await em.getRepository(JiraIntegration).createQueryBuilder('i')
            .setLock('pessimistic_write').setOnLocked('nowait').where('i.team_id = :teamId', { teamId }).getOne();
          // Re-read under the lock: another process may have refreshed just before we got it.
          const current = this.usable(row, rejected);
          if (current) return { kind: 'token', credentials: current, refreshed: false } as const;
          return this.refreshLocked(em, row!);
        });
      } catch (err) {
        if (!isLockNotAvailable(err)) throw err;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        this.metrics.refreshCompleted('lock_timeout');
        throw refreshLockTimeout();
      }
      await sleep(Math.min(remaining, lockPollDelayMs(waits)));
      const fresh = this.usable(await this.readForUse(teamId), rejected);
      if (fresh) return { kind: 'token', credentials: fresh, refreshed: false };
    }
  }

  /**
   * Calls Atlassian with the refresh token of `row`, which the caller holds `FOR UPDATE` in
   * `em`'s transaction, and records the outcome in that transaction. Never wipes tokens unless
   * Atlassian said the very refresh token stored in the locked row is dead (invalid_grant).
   * Run afterCommit(result) once the transaction has committed.
   */
  async refreshLocked(em: EntityManager, row: JiraIntegration): Promise<LockedRefreshResult> {
    if (!row.refreshToken) return this.markReauthorizationRequired(em, row);
    const done = this.metrics.tokenEndpointTimer('refresh_token');
    let tokens: TokenSet;
    try {
      tokens = await this.gateway.refresh(row.refreshToken);
      done('ok');
    } catch (err) {
      if (!(err instanceof AtlassianTokenError)) {
        done('error');
        throw err;
      }
      done(err.kind);
      if (err.kind === 'invalid_grant') return this.markReauthorizationRequired(em, row);
      // Tokens stay as they are: they are still valid once Atlassian is back.
      const code = err.kind === 'client_rejected' ? JiraErrorCode.AtlassianClientRejected
        : err.httpStatus === 429 ? JiraErrorCode.AtlassianRateLimited : JiraErrorCode.AtlassianUnavailable;
      await em.update(JiraIntegration, { id: row.id }, { lastErrorCode: code, lastErrorAt: this.clock.now() });
      return { kind: err.kind, error: err };
    }
    if (!tokens.refreshToken) this.logger.warn(`Atlassian returned no refresh token for team ${row.teamId}; keeping the stored one`);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + tokens.expiresInSeconds * 1000);
    // Access token, rotated refresh token and expiry in one write, in the lock's transaction.
    const written = await em.update(JiraIntegration, { id: row.id, tokenVersion: row.tokenVersion }, {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken ?? row.refreshToken,
      accessTokenExpiresAt: expiresAt,
      lastRefreshedAt: now,
      tokenVersion: row.tokenVersion + 1,
      ...(tokens.scopes.length > 0 ? { scopes: tokens.scopes } : {}),
      lastErrorCode: null,
      lastErrorAt: null,
    });
    if (written.affected !== 1) throw new Error('jira_integrations row changed while locked for refresh');
    if (row.lastErrorCode) await this.notifyInTransaction(em, NotificationType.Recovered, row);
    return { kind: 'token', refreshed: true, credentials: { accessToken: tokens.accessToken, cloudId: row.cloudId!, expiresAt } };
  }

  /** Metrics, logs and the reauthorization event: only after the transaction committed. */
  afterCommit(result: LockedRefreshResult): void {
    if (result.kind === 'token') {
      if (result.refreshed) this.metrics.refreshCompleted('success');
    } else if (result.kind === 'reauthorization_required') {
      if (!result.transitioned) return;
      this.metrics.refreshCompleted('invalid_grant');
      this.logger.warn(`Atlassian rejected the refresh token of team ${result.teamId}; reauthorization required`);
      const event: JiraReauthorizationRequiredEvent = { teamId: result.teamId, integrationId: result.integrationId };
      this.events.emit(JIRA_REAUTHORIZATION_REQUIRED, event);
    } else if (result.kind === 'client_rejected') {
      this.metrics.refreshCompleted('client_rejected');
      this.logger.error(`Atlassian rejected the client credentials on refresh (${result.error.message}); check JIRA_CLIENT_ID/SECRET`);
    }
  }

  /**
   * Wipes the tokens of the row we hold locked. The version check is belt and braces: under the
   * lock nobody else can have rotated it, and a token someone else just stored must never be
   * deleted because an older one was refused (superplane#6308).
   */
  private async markReauthorizationRequired(em: EntityManager, row: JiraIntegration): Promise<LockedRefreshResult> {
    const written = await em.update(JiraIntegration, { id: row.id, tokenVersion: row.tokenVersion, status: 'connected' }, {
      status: 'reauthorization_required',
      accessToken: null,
      refreshToken: null,
      accessTokenExpiresAt: null,
      tokenVersion: row.tokenVersion + 1,
      lastErrorCode: JiraErrorCode.ReauthorizationRequired,
      lastErrorAt: this.clock.now(),
    });
    if (written.affected === 1) await this.notifyInTransaction(em, NotificationType.ReauthorizationRequired, row);
    return { kind: 'reauthorization_required', transitioned: written.affected === 1, teamId: row.teamId, integrationId: row.id };
  }

  /** Notifications to the product (issue 9, src/notifications/): recorded in the refresh's own transaction. */
  private notifyInTransaction(em: EntityManager, type: string, row: JiraIntegration): Promise<string | null> {
    return this.outbox.enqueue(em, { type, teamId: row.teamId, data: { cloudId: row.cloudId } });
  }

  /**
   * The stored credentials if they are good for TOKEN_MIN_VALIDITY_MS more (and are not the
   * token Jira just rejected); null when a refresh is needed; throws when there is nothing to
   * refresh (not connected, no site yet, reauthorization required).
   */
  private usable(row: JiraIntegration | null, rejected?: string): JiraCredentials | null {
    if (!row) throw notConnected();
    if (row.status === 'reauthorization_required') throw reauthorizationRequired();
    if (row.status !== 'connected' || !row.cloudId) throw siteNotChosen();
    const expiresAt = row.accessTokenExpiresAt;
    if (!row.accessToken || !expiresAt || row.accessToken === rejected) return null;
    if (expiresAt.getTime() - this.clock.nowMs() <= TOKEN_MIN_VALIDITY_MS) return null;
    return { accessToken: row.accessToken, cloudId: row.cloudId, expiresAt };
  }
}
