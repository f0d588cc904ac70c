import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { sleep } from '../atlassian/retry-policy.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { endpointFamily, readRateLimitHeaders, scopeOfReason, writtenIssue, type RateLimitScope } from './rate-limit-headers.js';
import {
  RATE_LIMIT_STATE_STORE, type AdmitRequest, type AdmitResult, type Observation, type RateLimitSnapshot, type RateLimitStateStore, type StepResult,
} from './rate-limit-state.js';
import { WaitLine } from './wait-line.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraRateLimitSettings } from '../config/jira-rate-limit.config.js';

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
/** Points counted per call: Atlassian charges 1 base point, plus points per object a read returns (unknown until it returns). */
const POINTS_PER_CALL = 1;
/** Calls of one endpoint are spaced for this fraction of its per-second limit (send times jitter on a busy event loop). */
const BURST_HEADROOM = 0.8;
/** Endpoint families whose burst limit is remembered. */
const MAX_LEARNED_FAMILIES = 1000;
/** The app pool is paced when Atlassian reports this fraction of the pool fewer points left than our count. */
const APP_COUNT_SLACK = 0.05;

const tenantScope = (tenant: string): string => `tenant:${tenant}`;
const burstScope = (call: GovernedCall): string => `burst:${call.tenant}:${endpointFamily(call.method, call.path)}`;
/** Whole milliseconds between two calls of one endpoint under `perSecond`. */
export const burstIntervalMs = (perSecond: number): number => Math.max(1, Math.ceil(1000 / (perSecond * BURST_HEADROOM)));

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
  /** Per-second limit per endpoint family (X-RateLimit-Limit), learned from responses; JIRA_BURST_PER_SECOND until then. */
  private readonly burstLimits = new Map<string, number>();
  private readonly line = new WaitLine();
  /** Calls per tenant let through by this instance whose response has not been observed yet. */
  private readonly sending = new Map<string, number>();

  private readonly settings: JiraRateLimitSettings;
  constructor(
    @Inject(RATE_LIMIT_STATE_STORE) private readonly store: RateLimitStateStore,
    @Inject(JIRA_SETTINGS) settings: Pick<JiraModuleSettings, 'atlassianRateLimit'>,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
  ) {
    this.settings = settings.atlassianRateLimit;
  }

  /**
   * Resolves when `call` may go out; throws 503 atlassian_rate_limited at once when that cannot be
   * before `deadlineMs`. A call that fits waits: for a block to end, for its turn in the pool
   * (behind its own tenant's earlier calls), for its endpoint's slot, or for a near-limit pace.
   */
  async acquire(call: GovernedCall, deadlineMs: number): Promise<void> {
    const keys = this.blockKeys(call);
    const scopes = [tenantScope(call.tenant), APP];
    let step: StepResult;
    let asked: { windowId: number } | undefined;
    // One step (one Redis round trip) in the common case: not blocked, admitted, not near a limit.
    for (;;) {
      const now = this.clock.nowMs();
      const ask = this.line.busy(call.tenant) ? undefined : this.admitRequest(call, deadlineMs, now);
      step = await this.store.step({ nowMs: now, blockKeys: keys, admit: ask?.req, snapshotScopes: scopes });
      asked = ask;
      if (step.blocked.untilMs <= now) break;
      await this.waitOrReject(call, step.blocked.untilMs, deadlineMs, step.blocked.key?.split(':')[0] ?? 'tenant');
    }
    const first = step.admitted && asked ? this.checked(call, { result: step.admitted, windowId: asked.windowId }) : undefined;
    const admitted = first?.result.verdict === 'ok' ? first : await this.waitForPool(call, deadlineMs, first);
    try {
      // Snapshots read in the step that admitted the call; after a wait for the pool, read again.
      const [tenant, app] = admitted === first ? step.snapshots
        : await Promise.all([this.store.loadSnapshot(tenantScope(call.tenant)), this.store.loadSnapshot(APP)]);
      await this.pace(call, deadlineMs, admitted.result, tenant, app);
    } catch (err) {
      await this.store.refund(call.tenant, admitted.windowId, POINTS_PER_CALL);
      throw err;
    }
  }

  /** The pool's ask for `call` now (with the endpoint's slot). */
  private admitRequest(call: GovernedCall, deadlineMs: number, now: number): { req: AdmitRequest; windowId: number } {
    const { windowMs, appPointsPerWindow } = this.settings;
    const windowId = Math.floor(now / windowMs);
    const limit = this.burstLimits.get(endpointFamily(call.method, call.path)) ?? this.settings.burstPerSecond;
    return {
      windowId,
      req: {
        tenant: call.tenant, windowId, windowMs, windowEndsMs: (windowId + 1) * windowMs, nowMs: now,
        appCap: appPointsPerWindow, shareCap: Math.max(1, Math.floor(appPointsPerWindow * this.settings.tenantMaxShare)), cost: POINTS_PER_CALL,
        burst: { key: burstScope(call), intervalMs: burstIntervalMs(limit), deadlineMs },
      },
    };
  }

  /** An endpoint slot past the deadline is refused at once. */
  private checked(call: GovernedCall, asked: { result: AdmitResult; windowId: number }): { result: AdmitResult; windowId: number } {
    if (asked.result.verdict === 'burst') this.reject(call, asked.result.goAtMs - this.clock.nowMs(), 'burst_spacing');
    return asked;
  }

  /** One ask of the pool (with the endpoint's slot); an endpoint slot past the deadline is refused at once. */
  private async admitOnce(call: GovernedCall, deadlineMs: number): Promise<{ result: AdmitResult; windowId: number }> {
    const { req, windowId } = this.admitRequest(call, deadlineMs, this.clock.nowMs());
    return this.checked(call, { result: await this.store.admit(req), windowId });
  }

  /**
   * Waits in the tenant's line for the pool (fair share or the pool's window); refused at once when
   * the store's estimate of when it could go, or the line ahead's, is past the deadline.
   */
  private async waitForPool(call: GovernedCall, deadlineMs: number, first?: { result: AdmitResult }): Promise<{ result: AdmitResult; windowId: number }> {
    const expected = Math.max(first?.result.goAtMs ?? 0, this.line.expectedAt(call.tenant));
    const verdict = first?.result.verdict ?? 'fair_share';
    if (expected > deadlineMs) this.reject(call, expected - this.clock.nowMs(), verdict);
    this.metrics.jiraCallPaced(`${verdict}_wait`);
    return this.line.run(call.tenant, deadlineMs, () => this.clock.nowMs(), async () => {
      for (;;) {
        const attempt = await this.admitOnce(call, deadlineMs);
        if (attempt.result.verdict === 'ok') return attempt;
        const now = this.clock.nowMs();
        if (attempt.result.goAtMs > deadlineMs) this.reject(call, attempt.result.goAtMs - now, attempt.result.verdict);
        this.line.expect(call.tenant, attempt.result.goAtMs);
        await sleep(Math.max(1, Math.min(attempt.result.goAtMs, now + POOL_RECHECK_MS) - now));
      }
    }, () => this.reject(call, Math.max(1000, this.line.expectedAt(call.tenant) - this.clock.nowMs()), verdict));
  }

  /**
   * Records the rate-limit headers of a response; after a 429, blocks the scope its reason names
   * (written before this resolves). Other snapshots may reach Redis with this instance's next step.
   */
  async observe(call: GovernedCall, res: { status: number; headers: Record<string, string> }): Promise<void> {
    this.settled(call);
    const now = this.clock.nowMs();
    const r = readRateLimitHeaders(res.status, res.headers, now);
    const tenantQuota = r.quotas.find((q) => q.scope === 'tenant');
    const appQuota = r.quotas.find((q) => q.scope === 'app');
    // Without a last429 of its own, the store keeps the scope's last one.
    const tenantSnap: RateLimitSnapshot = {
      remaining: tenantQuota?.remaining ?? r.remaining,
      limit: tenantQuota ? tenantQuota.quota : r.limit,
      resetAtMs: tenantQuota?.resetAtMs ?? r.resetAtMs,
      nearLimit: r.nearLimit,
      updatedAtMs: now,
    };
    const observation: Observation = { snapshots: [] };
    if (r.limit !== undefined && r.limit > 0) this.learnBurstLimit(endpointFamily(call.method, call.path), r.limit);
    if (res.status === 429) {
      const scope = scopeOfReason(r.reason);
      const reason = r.reason ?? 'unspecified';
      const untilMs = Math.max(now + (r.retryAfterMs ?? 0), r.resetAtMs ?? 0, r.retryAfterMs === undefined && r.resetAtMs === undefined ? now + DEFAULT_BLOCK_MS : 0);
      observation.block = { key: this.blockKey(scope, call), untilMs, nowMs: now };
      tenantSnap.last429 = { reason, atMs: now, retryAtMs: untilMs };
      this.metrics.jiraRateLimited(reason, scope);
      this.logger.warn({ msg: 'Jira answered 429; scope held back until its reset', tenant: call.tenant, reason, scope, retryInMs: untilMs - now });
    }
    observation.snapshots.push({ scope: tenantScope(call.tenant), snapshot: tenantSnap, ttlMs: this.ttl(tenantSnap, now) });
    this.noteNearLimit(tenantScope(call.tenant), tenantSnap, { tenant: call.tenant });
    if (appQuota) {
      const appSnap: RateLimitSnapshot = {
        remaining: appQuota.remaining,
        limit: appQuota.quota,
        resetAtMs: appQuota.resetAtMs,
        nearLimit: appQuota.remaining !== undefined && appQuota.quota !== undefined && appQuota.remaining < appQuota.quota * NEAR_LIMIT_FRACTION,
        updatedAtMs: now,
      };
      observation.snapshots.push({ scope: APP, snapshot: appSnap, ttlMs: this.ttl(appSnap, now) });
      this.metrics.jiraAppRateLimitRemaining(appSnap.remaining);
      this.noteNearLimit(APP, appSnap, { scope: 'app' });
    }
    await this.store.record(observation);
  }

  /** The tenant's current state as Atlassian last reported it, for `status`. */
  async view(tenant: string): Promise<RateLimitView> {
    const now = this.clock.nowMs();
    // One step without an ask: one round trip in Redis, carrying this instance's unsent snapshots of these scopes.
    const { blocked, snapshots: [t, a] } = await this.store.step({
      nowMs: now, blockKeys: [APP, tenantScope(tenant)], snapshotScopes: [tenantScope(tenant), APP],
    });
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
   * After admission: waits for the call's endpoint slot, and near the tenant's Atlassian quota
   * spaces its calls so the rest lasts until the reset (none left once this instance's calls on
   * their way are counted: waits for the reset). The app's
   * pool is paced only when Atlassian reports less left than the governor's own count (other
   * instances not sharing Redis, a smaller pool than configured, or reads costing more than a
   * point): then its pace is split between the tenants calling, each with its own slots, so one
   * tenant's many callers cannot queue ahead of another tenant's call.
   */
  private async pace(call: GovernedCall, deadlineMs: number, admitted: AdmitResult, tenant: RateLimitSnapshot | null, app: RateLimitSnapshot | null): Promise<void> {
    const now = this.clock.nowMs();
    let goAt = admitted.goAtMs;
    let reason = goAt > now ? 'burst_spacing' : '';
    const ourCountLeft = this.settings.appPointsPerWindow - admitted.poolUsed;
    const appBehind = app?.remaining !== undefined && app.remaining < ourCountLeft - Math.ceil(this.settings.appPointsPerWindow * APP_COUNT_SLACK);
    const paced: [string, RateLimitSnapshot | null, number][] = [[`pace:${tenantScope(call.tenant)}`, tenant, 1]];
    if (appBehind) paced.push([`pace:app:${call.tenant}`, app, Math.max(1, admitted.activeTenants)]);
    for (const [key, snap, share] of paced) {
      const interval = paceIntervalMs(snap, now) * share;
      if (interval <= 0) continue;
      const why = `${key.split(':')[1]}_near_limit`;
      const slot = await this.store.reserveSlot(key, interval, now, deadlineMs);
      if (slot === null) this.reject(call, interval, why);
      if (slot > goAt) [goAt, reason] = [slot, why];
    }
    // What the last response said was left is spent by this instance's calls already on their way:
    // none left for this one means waiting for the reset (no await between this check and the count).
    const sending = this.sending.get(call.tenant) ?? 0;
    if (tenant?.remaining !== undefined && tenant.resetAtMs !== undefined && tenant.resetAtMs > Math.max(now, goAt) && tenant.remaining - sending <= 0) {
      if (tenant.resetAtMs > deadlineMs) this.reject(call, tenant.resetAtMs - now, 'tenant_quota_spent');
      [goAt, reason] = [tenant.resetAtMs, 'tenant_quota_spent'];
    }
    this.sending.set(call.tenant, sending + 1);
    if (goAt > now) {
      this.metrics.jiraCallPaced(reason);
      await sleep(goAt - now);
    }
  }

  /** A call let through by `acquire` has finished without a response to observe (network error). */
  settled(call: GovernedCall): void {
    const left = (this.sending.get(call.tenant) ?? 0) - 1;
    if (left > 0) this.sending.set(call.tenant, left);
    else this.sending.delete(call.tenant);
  }

  private async waitOrReject(call: GovernedCall, untilMs: number, deadlineMs: number, scope: string): Promise<void> {
    const now = this.clock.nowMs();
    if (untilMs > deadlineMs) this.reject(call, untilMs - now, `${scope}_blocked`);
    await sleep(untilMs - now);
  }

  private reject(call: GovernedCall, waitMs: number, reason: string): never {
    this.metrics.jiraCallRejected(reason);
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

  private learnBurstLimit(family: string, limit: number): void {
    if (this.burstLimits.get(family) === limit) return;
    if (this.burstLimits.size >= MAX_LEARNED_FAMILIES) this.burstLimits.delete(this.burstLimits.keys().next().value!);
    this.burstLimits.set(family, limit);
  }

  private ttl(s: RateLimitSnapshot, now: number): number {
    return Math.max(SNAPSHOT_TTL_MS, (s.resetAtMs ?? now) - now, (s.last429?.retryAtMs ?? now) - now + SNAPSHOT_TTL_MS);
  }

  private noteNearLimit(scope: string, s: RateLimitSnapshot, who: Record<string, string>): void {
    const near = s.nearLimit;
    if ((this.nearLimitSeen.get(scope) ?? false) === near) return;
    this.nearLimitSeen.set(scope, near);
    const fields = { ...who, remaining: s.remaining, limit: s.limit, resetAt: s.resetAtMs ? new Date(s.resetAtMs).toISOString() : undefined };
    if (near) this.logger.warn({ msg: 'Jira rate limit: near the limit; calls are paced', ...fields });
    else this.logger.log({ msg: 'Jira rate limit: back below the near-limit threshold', ...fields });
  }
}

