import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Clock } from '../../../common/clock.js';
import { jiraRateLimitConfig } from '../../../config/jira-rate-limit.config.js';
import { MetricsService } from '../../../metrics/metrics.service.js';
import { sleep } from '../atlassian/retry-policy.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { endpointFamily, readRateLimitHeaders, scopeOfReason, writtenIssue, type RateLimitScope } from './rate-limit-headers.js';
import { RATE_LIMIT_STATE_STORE, type RateLimitSnapshot, type RateLimitStateStore } from './rate-limit-state.js';

/** One Jira call as the governor sees it: the tenant is the team's site (cloudId). */
export interface GovernedCall {
  tenant: string;
  method: string;
  path: string;
}

/** The team's rate-limit state as `status` shows it. */
export interface RateLimitView {
  nearLimit: boolean;
  remaining: number | null;
  limit: number | null;
  resetAt: Date | null;
  /** Until when this tenant's calls are held back after a 429 (tenant-wide or app-wide scopes). */
  blockedUntil: Date | null;
  lastRateLimited: { reason: string; at: Date; retryAt: Date } | null;
  app: { nearLimit: boolean; remaining: number | null; resetAt: Date | null };
}

/** When a 429 says neither Retry-After nor X-RateLimit-Reset. */
const DEFAULT_BLOCK_MS = 1000;
/** Spacing of a near-limit scope whose remaining budget or reset time is unknown. */
const NEAR_LIMIT_FALLBACK_INTERVAL_MS = 250;
/** Atlassian's near-limit threshold: less than 20 % of a budget left. */
const NEAR_LIMIT_FRACTION = 0.2;
/** How often a caller held back by the pool re-checks whether it may go. */
const POOL_RECHECK_MS = 250;
/** How long a snapshot without a reset time is kept. */
const SNAPSHOT_TTL_MS = 60_000;

const APP = 'app';
const tenantScope = (tenant: string): string => `tenant:${tenant}`;
const burstScope = (call: GovernedCall): string => `burst:${call.tenant}:${endpointFamily(call.method, call.path)}`;
/** The request-rate (burst) budget is per second; its reset is not sent on a 200. */
const BURST_WINDOW_MS = 1000;

const rateLimited = (waitMs: number, scope: string): JiraError =>
  new JiraError(JiraErrorCode.AtlassianRateLimited, HttpStatus.SERVICE_UNAVAILABLE, 'Atlassian is rate limiting this service',
    'This team\'s Jira calls are held back until Atlassian\'s limit resets. Try again after the number of seconds in the Retry-After header.',
    { retryAfter: Math.max(1, Math.ceil(waitMs / 1000)), extensions: { rateLimitScope: scope } });

/** Spacing between calls so the remaining budget lasts until the reset; 0 when not near the limit. */
function paceIntervalMs(s: RateLimitSnapshot | null, nowMs: number): number {
  if (!s) return 0;
  const low = s.remaining !== undefined && s.limit !== undefined && s.remaining < s.limit * NEAR_LIMIT_FRACTION;
  if (!s.nearLimit && !low) return 0;
  if (s.resetAtMs === undefined || s.remaining === undefined) return NEAR_LIMIT_FALLBACK_INTERVAL_MS;
  if (s.resetAtMs <= nowMs) return 0;
  return (s.resetAtMs - nowMs) / Math.max(1, s.remaining);
}

/**
 * Stands in front of every Jira REST call (JiraClient): reads Atlassian's rate-limit headers on
 * every response, keeps what they said per tenant and for the app, and decides when a call may go:
 * - after a 429, no call of the scope its `RateLimit-Reason` names (tenant quota, global pool,
 *   tenant+endpoint+method burst, one issue's writes) goes out before `Retry-After`/reset;
 * - near a limit (endpoint burst, tenant quota, app pool), calls are spaced so the rest lasts until reset;
 * - the app's points pool is counted per window, and one tenant may take at most
 *   `JIRA_TENANT_MAX_SHARE` of it while other tenants are calling too;
 * - a call that could not go out before its deadline fails at once with 503 atlassian_rate_limited.
 */
@Injectable()
export class RateLimitGovernor {
  private readonly logger = new Logger(RateLimitGovernor.name);
  /** Last near-limit flag seen per scope by this instance, to log crossings once. */
  private readonly nearLimitSeen = new Map<string, boolean>();

  constructor(
    @Inject(RATE_LIMIT_STATE_STORE) private readonly store: RateLimitStateStore,
    @Inject(jiraRateLimitConfig.KEY) private readonly settings: ConfigType<typeof jiraRateLimitConfig>,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
  ) {}

  /** Resolves when `call` may go out; throws 503 atlassian_rate_limited when that would be after `deadlineMs`. */
  async acquire(call: GovernedCall, deadlineMs: number): Promise<void> {
    const keys = this.blockKeys(call);
    for (;;) {
      const now = this.clock.nowMs();
      const blocked = await this.store.blockedUntil(keys, now);
      if (blocked.untilMs > now) {
        await this.waitOrReject(call, blocked.untilMs, deadlineMs, blocked.key?.split(':')[0] ?? 'tenant');
        continue;
      }
      const windowId = Math.floor(now / this.settings.windowMs);
      const windowEndsMs = (windowId + 1) * this.settings.windowMs;
      const admitted = await this.store.admit({
        tenant: call.tenant, windowId, windowEndsMs, nowMs: now,
        appCap: this.settings.appPointsPerWindow,
        tenantCap: Math.max(1, Math.floor(this.settings.appPointsPerWindow * this.settings.tenantMaxShare)),
        activeMs: Math.min(60_000, this.settings.windowMs),
      });
      if (admitted.verdict !== 'ok') {
        if (windowEndsMs > deadlineMs) this.reject(call, windowEndsMs - now, admitted.verdict);
        await sleep(Math.min(POOL_RECHECK_MS, windowEndsMs - now));
        continue;
      }
      await this.pace(call, deadlineMs, admitted.activeTenants);
      return;
    }
  }

  /** Records the rate-limit headers of a response; after a 429, blocks the scope its reason names. */
  async observe(call: GovernedCall, res: { status: number; headers: Record<string, string> }): Promise<void> {
    const now = this.clock.nowMs();
    const r = readRateLimitHeaders(res.status, res.headers, now);
    const tenantQuota = r.quotas.find((q) => q.scope === 'tenant');
    const appQuota = r.quotas.find((q) => q.scope === 'app');
    const previous = res.status === 429 ? null : await this.store.loadSnapshot(tenantScope(call.tenant));
    const tenantSnap: RateLimitSnapshot = {
      remaining: tenantQuota?.remaining ?? r.remaining,
      limit: tenantQuota ? tenantQuota.quota : r.limit,
      resetAtMs: tenantQuota?.resetAtMs ?? r.resetAtMs,
      nearLimit: r.nearLimit,
      last429: previous?.last429,
      updatedAtMs: now,
    };
    const writes: Promise<void>[] = [];
    if (r.limit !== undefined && r.remaining !== undefined) {
      const burst: RateLimitSnapshot = { remaining: r.remaining, limit: r.limit, resetAtMs: now + BURST_WINDOW_MS, nearLimit: false, updatedAtMs: now };
      writes.push(this.store.saveSnapshot(burstScope(call), burst, BURST_WINDOW_MS));
    }
    if (res.status === 429) {
      const scope = scopeOfReason(r.reason);
      const reason = r.reason ?? 'unspecified';
      const untilMs = Math.max(now + (r.retryAfterMs ?? 0), r.resetAtMs ?? 0, r.retryAfterMs === undefined && r.resetAtMs === undefined ? now + DEFAULT_BLOCK_MS : 0);
      writes.push(this.store.block(this.blockKey(scope, call), untilMs, now));
      tenantSnap.last429 = { reason, atMs: now, retryAtMs: untilMs };
      this.metrics.jiraRateLimited(call.tenant, reason);
      this.logger.warn({ tenant: call.tenant, reason, scope, retryInMs: untilMs - now }, 'Jira answered 429; scope held back until its reset');
    }
    writes.push(this.store.saveSnapshot(tenantScope(call.tenant), tenantSnap, this.ttl(tenantSnap, now)));
    this.metrics.jiraRateLimitRemaining(call.tenant, 'tenant', tenantSnap.remaining);
    this.noteNearLimit(tenantScope(call.tenant), tenantSnap, { tenant: call.tenant });
    if (appQuota) {
      const appSnap: RateLimitSnapshot = {
        remaining: appQuota.remaining,
        limit: appQuota.quota,
        resetAtMs: appQuota.resetAtMs,
        nearLimit: appQuota.remaining !== undefined && appQuota.quota !== undefined && appQuota.remaining < appQuota.quota * NEAR_LIMIT_FRACTION,
        updatedAtMs: now,
      };
      writes.push(this.store.saveSnapshot(APP, appSnap, this.ttl(appSnap, now)));
      this.metrics.jiraRateLimitRemaining('', 'app', appSnap.remaining);
      this.noteNearLimit(APP, appSnap, { scope: 'app' });
    }
    await Promise.all(writes);
  }

  /** The tenant's current state as Atlassian last reported it, for `status`. */
  async view(tenant: string): Promise<RateLimitView> {
    const now = this.clock.nowMs();
    const [t, a, blocked] = await Promise.all([
      this.store.loadSnapshot(tenantScope(tenant)),
      this.store.loadSnapshot(APP),
      this.store.blockedUntil([APP, tenantScope(tenant)], now),
    ]);
    const date = (ms: number | undefined): Date | null => (ms === undefined ? null : new Date(ms));
    return {
      nearLimit: t?.nearLimit ?? false,
      remaining: t?.remaining ?? null,
      limit: t?.limit ?? null,
      resetAt: date(t?.resetAtMs),
      blockedUntil: blocked.untilMs > now ? new Date(blocked.untilMs) : null,
      lastRateLimited: t?.last429 ? { reason: t.last429.reason, at: new Date(t.last429.atMs), retryAt: new Date(t.last429.retryAtMs) } : null,
      app: { nearLimit: a?.nearLimit ?? false, remaining: a?.remaining ?? null, resetAt: date(a?.resetAtMs) },
    };
  }

  /**
   * Near a limit, takes the next slot of each near scope (endpoint burst, tenant quota, app pool)
   * and waits for the latest. The app's pace is split between the tenants calling now: each has
   * its own slots, `activeTenants` times further apart, so one tenant's many callers cannot queue
   * ahead of another tenant's call.
   */
  private async pace(call: GovernedCall, deadlineMs: number, activeTenants: number): Promise<void> {
    const now = this.clock.nowMs();
    const scopes = [burstScope(call), tenantScope(call.tenant), APP];
    const snaps = await Promise.all(scopes.map((scope) => this.store.loadSnapshot(scope)));
    let goAt = now;
    let reason = '';
    for (const [i, scope] of scopes.entries()) {
      const interval = paceIntervalMs(snaps[i], now) * (scope === APP ? Math.max(1, activeTenants) : 1);
      if (interval <= 0) continue;
      const why = `${scope.split(':')[0]}_near_limit`;
      const slot = await this.store.reserveSlot(scope === APP ? `pace:app:${call.tenant}` : `pace:${scope}`, interval, now, deadlineMs);
      if (slot === null) this.reject(call, interval, why);
      if (slot > goAt) [goAt, reason] = [slot, why];
    }
    if (goAt > now) {
      this.metrics.jiraCallPaced(call.tenant, reason);
      await sleep(goAt - now);
    }
  }

  private async waitOrReject(call: GovernedCall, untilMs: number, deadlineMs: number, scope: string): Promise<void> {
    const now = this.clock.nowMs();
    if (untilMs > deadlineMs) this.reject(call, untilMs - now, `${scope}_blocked`);
    await sleep(untilMs - now);
  }

  private reject(call: GovernedCall, waitMs: number, reason: string): never {
    this.metrics.jiraCallRejected(call.tenant, reason);
    throw rateLimited(waitMs, reason);
  }

  private blockKeys(call: GovernedCall): string[] {
    const keys = [this.blockKey('app', call), this.blockKey('tenant', call), this.blockKey('burst', call)];
    if (writtenIssue(call.method, call.path)) keys.push(this.blockKey('issue', call));
    return keys;
  }

  private blockKey(scope: RateLimitScope, call: GovernedCall): string {
    switch (scope) {
      case 'app':
        return APP;
      case 'burst':
        return burstScope(call);
      case 'issue': {
        const issue = writtenIssue(call.method, call.path);
        // A per-issue 429 on a path we cannot attribute to an issue holds back its endpoint instead.
        return issue ? `issue:${call.tenant}:${issue}` : burstScope(call);
      }
      default:
        return tenantScope(call.tenant);
    }
  }

  private ttl(s: RateLimitSnapshot, now: number): number {
    return Math.max(SNAPSHOT_TTL_MS, (s.resetAtMs ?? now) - now, (s.last429?.retryAtMs ?? now) - now + SNAPSHOT_TTL_MS);
  }

  private noteNearLimit(scope: string, s: RateLimitSnapshot, who: Record<string, string>): void {
    const near = s.nearLimit;
    if ((this.nearLimitSeen.get(scope) ?? false) === near) return;
    this.nearLimitSeen.set(scope, near);
    const fields = { ...who, remaining: s.remaining, limit: s.limit, resetAt: s.resetAtMs ? new Date(s.resetAtMs).toISOString() : undefined };
    if (near) this.logger.warn(fields, 'Jira rate limit: near the limit; calls are paced');
    else this.logger.log(fields, 'Jira rate limit: back below the near-limit threshold');
  }
}

