import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { boundedRedisClient, LuaScript, RedisAvailability } from '../common/throttling/bounded-redis.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import { ADMIT_SCRIPT, RECORD_SCRIPT, REFUND_SCRIPT, STEP_SCRIPT } from './fair-share-script.js';
import { contentionMs, decideAdmission, DEMAND_MARGIN, MIN_RATE_SPAN_MS, WAITING_MS } from './fair-share.js';

/** What Atlassian last said about one scope (a tenant, or the app as a whole). */
export interface RateLimitSnapshot {
  remaining?: number;
  limit?: number;
  resetAtMs?: number;
  nearLimit: boolean;
  last429?: { reason: string; atMs: number; retryAtMs: number };
  updatedAtMs: number;
}

export interface AdmitRequest {
  tenant: string;
  windowId: number;
  windowMs: number;
  windowEndsMs: number;
  appCap: number;
  /** floor(appCap × JIRA_TENANT_MAX_SHARE): what a tenant may take while others contend (fair-share.ts). */
  shareCap: number;
  /** Points this call costs. */
  cost: number;
  nowMs: number;
  /** Spacing of the call's endpoint (tenant + endpoint + method) under its per-second limit. */
  burst?: { key: string; intervalMs: number; deadlineMs: number };
}

export interface AdmitResult {
  /** `burst`: the endpoint's next slot is past the deadline (nothing counted). */
  verdict: 'ok' | 'app_pool' | 'fair_share' | 'burst';
  /** Tenants (this one included) that asked within contentionMs. */
  activeTenants: number;
  /** Points of the pool used this window, this call included when admitted. */
  poolUsed: number;
  /** Admitted: when the call may be sent (its endpoint slot). Denied: when to ask again. */
  goAtMs: number;
}

/** One Jira call's step: blocks of its scopes, then (unless blocked) its admission, and the snapshots its pacing reads. */
export interface StepRequest {
  nowMs: number;
  blockKeys: string[];
  /** Absent: only the blocks and snapshots (the call waits in its tenant's line instead). */
  admit?: AdmitRequest;
  snapshotScopes: string[];
}

export interface StepResult {
  /** The latest block end among `blockKeys` (0 when none is blocked), and which key it is. */
  blocked: { untilMs: number; key?: string };
  /** Not blocked and asked: the admission (nothing is counted while blocked). */
  admitted?: AdmitResult;
  /** In the order of `snapshotScopes`. */
  snapshots: (RateLimitSnapshot | null)[];
}

/** What one Jira answer said: snapshots to keep, and after a 429 the scope to block. */
export interface Observation {
  /** Each keeps the last 429 stored for its scope unless it carries one of its own. */
  snapshots: { scope: string; snapshot: RateLimitSnapshot; ttlMs: number }[];
  block?: { key: string; untilMs: number; nowMs: number };
}

/**
 * The governor's shared state. Every operation is one atomic step, so several instances on one
 * Redis agree on blocks, pool usage and pacing slots.
 */
export interface RateLimitStateStore {
  /** The latest block end among `keys` (0 when none is blocked), and which key it is. */
  blockedUntil(keys: string[], nowMs: number): Promise<{ untilMs: number; key?: string }>;
  /** Block `key` until `untilMs` (an earlier end never shortens a later one). */
  block(key: string, untilMs: number, nowMs: number): Promise<void>;
  /** One atomic step: count the call against the pool unless fair-share.ts says no, and take its endpoint slot. */
  admit(req: AdmitRequest): Promise<AdmitResult>;
  /** Give back the points of an admitted call that was not sent after all. */
  refund(tenant: string, windowId: number, cost: number): Promise<void>;
  /** The next free slot of a paced scope, `intervalMs` after the previous one; null (nothing reserved) past `deadlineMs`. */
  reserveSlot(key: string, intervalMs: number, nowMs: number, deadlineMs: number): Promise<number | null>;
  saveSnapshot(scope: string, snapshot: RateLimitSnapshot, ttlMs: number): Promise<void>;
  loadSnapshot(scope: string): Promise<RateLimitSnapshot | null>;
  /** blockedUntil, admit (unless blocked) and loadSnapshot in one atomic step: one round trip in Redis. */
  step(req: StepRequest): Promise<StepResult>;
  /**
   * Keeps an answer's snapshots, and blocks a 429's scope. A block is written before this resolves;
   * snapshots alone may be sent with this instance's next step instead (Redis: within SNAPSHOT_FLUSH_MS).
   */
  record(observation: Observation): Promise<void>;
}

export const RATE_LIMIT_STATE_STORE = Symbol('RATE_LIMIT_STATE_STORE');

const TOTAL = '_total';
const VERDICTS: AdmitResult['verdict'][] = ['ok', 'app_pool', 'fair_share', 'burst'];

/** One process's state (no REDIS_URL), and the fallback while Redis fails. */
export class InMemoryRateLimitStateStore implements RateLimitStateStore {
  private readonly blocks = new Map<string, number>();
  /** Points used per window id: per tenant, and TOTAL. */
  private readonly pools = new Map<number, Map<string, number>>();
  /** Tenants that asked within contentionMs. */
  private readonly activity = new Map<string, { lastAskMs: number; firstAskMs: number; lastDeniedMs: number }>();
  private readonly slots = new Map<string, number>();
  private readonly snapshots = new Map<string, { snap: RateLimitSnapshot; expiresMs: number }>();

  async blockedUntil(keys: string[], nowMs: number): Promise<{ untilMs: number; key?: string }> {
    let best: { untilMs: number; key?: string } = { untilMs: 0 };
    for (const key of keys) {
      const until = this.blocks.get(key) ?? 0;
      if (until <= nowMs) this.blocks.delete(key);
      else if (until > best.untilMs) best = { untilMs: until, key };
    }
    return best;
  }

  async block(key: string, untilMs: number): Promise<void> {
    this.blocks.set(key, Math.max(untilMs, this.blocks.get(key) ?? 0));
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const now = req.nowMs;
    const contention = contentionMs(req.windowMs);
    const me = this.activity.get(req.tenant);
    if (!me || me.lastAskMs < now - contention) this.activity.set(req.tenant, { lastAskMs: now, firstAskMs: now, lastDeniedMs: me?.lastDeniedMs ?? 0 });
    else me.lastAskMs = now;
    for (const [t, a] of this.activity) if (a.lastAskMs < now - contention) this.activity.delete(t);
    const current = this.poolOf(req.windowId);
    const poolUsed = current.get(TOTAL) ?? 0;
    const result = (verdict: AdmitResult['verdict'], goAtMs: number, used = poolUsed): AdmitResult =>
      ({ verdict, activeTenants: this.activity.size, poolUsed: used, goAtMs });
    const slot = req.burst ? Math.max(now, this.slots.get(req.burst.key) ?? 0) : now;
    if (req.burst && slot > req.burst.deadlineMs) return result('burst', slot);
    const mine = current.get(req.tenant) ?? 0;
    const previous = this.pools.get(req.windowId - 1);
    // The others only matter to a tenant above its share.
    const others = mine + req.cost <= req.shareCap ? [] : [...this.activity].filter(([t]) => t !== req.tenant)
      .map(([t, a]) => ({ ...a, used: current.get(t) ?? 0, usedPrev: previous?.get(t) ?? 0 }));
    const decision = decideAdmission({
      nowMs: now, windowMs: req.windowMs, windowEndsMs: req.windowEndsMs, poolCap: req.appCap, poolUsed, shareCap: req.shareCap,
      cost: req.cost, mine, others,
    });
    if (decision.verdict !== 'ok') {
      this.activity.get(req.tenant)!.lastDeniedMs = now;
      return result(decision.verdict, decision.retryAtMs);
    }
    current.set(TOTAL, poolUsed + req.cost);
    current.set(req.tenant, mine + req.cost);
    if (req.burst) this.slots.set(req.burst.key, slot + req.burst.intervalMs);
    return result('ok', slot, poolUsed + req.cost);
  }

  async refund(tenant: string, windowId: number, cost: number): Promise<void> {
    const pool = this.pools.get(windowId);
    if (!pool) return;
    for (const k of [TOTAL, tenant]) pool.set(k, Math.max(0, (pool.get(k) ?? 0) - cost));
  }

  /** The window's usage per tenant (and TOTAL); only this window and the previous one are kept. */
  private poolOf(windowId: number): Map<string, number> {
    let pool = this.pools.get(windowId);
    if (!pool) {
      pool = new Map();
      this.pools.set(windowId, pool);
      for (const id of this.pools.keys()) if (id < windowId - 1) this.pools.delete(id);
    }
    return pool;
  }

  async reserveSlot(key: string, intervalMs: number, nowMs: number, deadlineMs: number): Promise<number | null> {
    const slot = Math.max(nowMs, this.slots.get(key) ?? 0);
    if (slot > deadlineMs) return null;
    this.slots.set(key, slot + intervalMs);
    return slot;
  }

  async saveSnapshot(scope: string, snapshot: RateLimitSnapshot, ttlMs: number): Promise<void> {
    this.snapshots.set(scope, { snap: snapshot, expiresMs: snapshot.updatedAtMs + ttlMs });
  }

  async loadSnapshot(scope: string): Promise<RateLimitSnapshot | null> {
    const s = this.snapshots.get(scope);
    return s && s.expiresMs > Date.now() ? s.snap : null;
  }

  async step(req: StepRequest): Promise<StepResult> {
    const blocked = await this.blockedUntil(req.blockKeys, req.nowMs);
    const admitted = blocked.untilMs <= req.nowMs && req.admit ? await this.admit(req.admit) : undefined;
    return { blocked, admitted, snapshots: await Promise.all(req.snapshotScopes.map((scope) => this.loadSnapshot(scope))) };
  }

  async record(observation: Observation): Promise<void> {
    if (observation.block) await this.block(observation.block.key, observation.block.untilMs);
    for (const { scope, snapshot, ttlMs } of observation.snapshots) {
      const kept = snapshot.last429 ? undefined : this.snapshots.get(scope);
      const last429 = kept && kept.expiresMs > Date.now() ? kept.snap.last429 : undefined;
      // The snapshot lives at least as long as the 429 it keeps (as in Redis).
      const expiresMs = Math.max(snapshot.updatedAtMs + ttlMs, last429 && kept ? kept.expiresMs : 0);
      this.snapshots.set(scope, { snap: last429 ? { ...snapshot, last429 } : snapshot, expiresMs });
    }
  }
}

const BLOCK = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`;

/* KEYS: slot. ARGV: interval, now, deadline. */
const SLOT = `
local slot = math.max(tonumber(ARGV[2]), tonumber(redis.call('GET', KEYS[1]) or '0'))
if slot > tonumber(ARGV[3]) then return -1 end
redis.call('SET', KEYS[1], tostring(slot + tonumber(ARGV[1])), 'PX', math.max(1000, slot + tonumber(ARGV[1]) - tonumber(ARGV[2])))
return slot`;

export const STEP = new LuaScript(STEP_SCRIPT);
const RECORD = new LuaScript(RECORD_SCRIPT);
const ADMIT = new LuaScript(ADMIT_SCRIPT);
const REFUND = new LuaScript(REFUND_SCRIPT);
const BLOCK_ONE = new LuaScript(BLOCK);
const RESERVE = new LuaScript(SLOT);

/** Snapshots not yet in Redis are sent alone after this long when no step of this instance took them. */
export const SNAPSHOT_FLUSH_MS = 250;
/** Unsent snapshots a step carries (the rest go with the next one, or the flush). */
const SNAPSHOTS_PER_STEP = 8;
const SNAPSHOTS_PER_FLUSH = 200;

type PendingSnapshot = Observation['snapshots'][number];

/**
 * The state in Redis, shared by every instance. Each command is bounded by the client's
 * `commandTimeout`; on a Redis error the call is answered from this process's memory, and so is
 * every call after it, at once, until a background PING gets an answer (RedisAvailability): rate-limit
 * coordination must not take Jira calls down with it, nor slow each of them by a timeout.
 *
 * A Jira call costs one round trip in the common case: its step (STEP_SCRIPT) reads the blocks,
 * admits it and reads the snapshots the pacing needs, and carries the snapshots this instance
 * learnt from earlier answers. An answer's snapshots wait for that next step (or SNAPSHOT_FLUSH_MS);
 * a 429's block is written at once.
 */
export class RedisRateLimitStateStore implements RateLimitStateStore, OnApplicationShutdown {
  private readonly logger = new Logger(RedisRateLimitStateStore.name);
  private readonly fallback = new InMemoryRateLimitStateStore();
  readonly availability: RedisAvailability;
  /** Snapshots this instance has not sent yet, the newest per scope. */
  private readonly pending = new Map<string, PendingSnapshot>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'jira-connect:jira-rl:',
  ) {
    this.availability = new RedisAvailability(redis, {
      purpose: 'Jira rate-limit state',
      onDown: (err) => this.logger.warn({
        msg: 'rate-limit state in Redis unavailable; using this instance\'s memory until Redis answers again', err: { message: err.message },
      }),
      onUp: (downMs) => this.logger.log({ msg: 'rate-limit state in Redis answers again', downMs }),
    });
  }

  blockedUntil(keys: string[], nowMs: number): Promise<{ untilMs: number; key?: string }> {
    return this.guard(async () => {
      const values = await this.redis.mget(...keys.map((k) => this.blockKey(k)));
      let best: { untilMs: number; key?: string } = { untilMs: 0 };
      values.forEach((v, i) => {
        const until = Number(v ?? 0);
        if (until > nowMs && until > best.untilMs) best = { untilMs: until, key: keys[i] };
      });
      return best;
    }, () => this.fallback.blockedUntil(keys, nowMs));
  }

  block(key: string, untilMs: number, nowMs: number): Promise<void> {
    return this.guard(async () => {
      // Whole milliseconds: Redis refuses a fractional PX.
      await BLOCK_ONE.run(this.redis, [this.blockKey(key)], [String(Math.ceil(untilMs)), String(Math.max(1, Math.ceil(untilMs - nowMs)))]);
      // Also locally, so this instance honours the block even if Redis fails right after.
      await this.fallback.block(key, untilMs);
    }, () => this.fallback.block(key, untilMs));
  }

  admit(req: AdmitRequest): Promise<AdmitResult> {
    return this.guard(async () => {
      const { keys, args } = this.admitArgs(req);
      return admitResult((await ADMIT.run(this.redis, keys, args)) as number[]);
    }, () => this.fallback.admit(req));
  }

  step(req: StepRequest): Promise<StepResult> {
    // The scopes it reads first: what it returns is never older than this instance's own last answer.
    const writes = this.takePending(SNAPSHOTS_PER_STEP, req.snapshotScopes);
    return this.guard(async () => {
      const admit = req.admit ? this.admitArgs(req.admit) : { keys: [], args: [] };
      const reads = req.snapshotScopes.flatMap((scope) => [this.snapKey(scope), this.lastKey(scope)]);
      const keys = [...this.snapshotKeys(writes), ...req.blockKeys.map((k) => this.blockKey(k)), ...reads, ...admit.keys];
      const args = [String(writes.length), String(req.blockKeys.length), String(req.snapshotScopes.length), req.admit ? '1' : '0',
        String(Math.round(req.nowMs)), ...this.snapshotArgs(writes), ...admit.args];
      const out = (await STEP.run(this.redis, keys, args)) as (number | string | null)[];
      const [untilMs, which] = [Number(out[0]), Number(out[1])];
      const blocked = which > 0 ? { untilMs, key: req.blockKeys[which - 1] } : { untilMs: 0 };
      const admitted = which === 0 && req.admit ? admitResult(out.slice(2, 6) as number[]) : undefined;
      const snapshots = req.snapshotScopes.map((_, i) => parseSnapshot(out[6 + 2 * i] as string | null, out[7 + 2 * i] as string | null));
      return { blocked, admitted, snapshots };
    }, async () => {
      await this.fallback.record({ snapshots: writes });
      return this.fallback.step(req);
    });
  }

  async record(observation: Observation): Promise<void> {
    if (!observation.block) {
      for (const s of observation.snapshots) {
        this.pending.delete(s.scope); // re-inserted last: the flush and steps take the oldest first
        this.pending.set(s.scope, s);
      }
      this.armFlush();
      return;
    }
    const { key, untilMs, nowMs } = observation.block;
    for (const s of observation.snapshots) this.pending.delete(s.scope);
    const writes = [...this.takePending(SNAPSHOTS_PER_STEP), ...observation.snapshots];
    await this.guard(async () => {
      await RECORD.run(this.redis, [...this.snapshotKeys(writes), this.blockKey(key)],
        [String(writes.length), String(Math.ceil(untilMs)), String(Math.max(1, Math.ceil(untilMs - nowMs))), ...this.snapshotArgs(writes)]);
      // Also locally, so this instance honours the block even if Redis fails right after.
      await this.fallback.block(key, untilMs);
    }, () => this.fallback.record({ snapshots: writes, block: observation.block }));
  }

  /** Sends every snapshot not yet in Redis (the timer, a status read, shutdown). */
  async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    while (this.pending.size > 0) {
      const writes = this.takePending(SNAPSHOTS_PER_FLUSH);
      await this.guard(async () => {
        await RECORD.run(this.redis, this.snapshotKeys(writes), [String(writes.length), '', '', ...this.snapshotArgs(writes)]);
      }, () => this.fallback.record({ snapshots: writes }));
    }
  }

  refund(tenant: string, windowId: number, cost: number): Promise<void> {
    return this.guard(async () => {
      await REFUND.run(this.redis, [`${this.prefix}pool:${windowId}`], [tenant, String(cost)]);
    }, () => this.fallback.refund(tenant, windowId, cost));
  }

  reserveSlot(key: string, intervalMs: number, nowMs: number, deadlineMs: number): Promise<number | null> {
    return this.guard(async () => {
      const slot = Number(await RESERVE.run(this.redis, [this.prefix + `slot:${key}`],
        [String(Math.max(1, Math.round(intervalMs))), String(Math.round(nowMs)), String(Math.round(deadlineMs))]));
      return slot < 0 ? null : slot;
    }, () => this.fallback.reserveSlot(key, intervalMs, nowMs, deadlineMs));
  }

  saveSnapshot(scope: string, snapshot: RateLimitSnapshot, ttlMs: number): Promise<void> {
    return this.guard(async () => {
      const { last429, ...rest } = snapshot;
      await this.redis.set(this.snapKey(scope), JSON.stringify(rest), 'PX', Math.max(1, Math.round(ttlMs)));
      if (last429) await this.redis.set(this.lastKey(scope), JSON.stringify(last429), 'PX', Math.max(1, Math.round(ttlMs)));
    }, () => this.fallback.saveSnapshot(scope, snapshot, ttlMs));
  }

  async loadSnapshot(scope: string): Promise<RateLimitSnapshot | null> {
    // This instance's newest answer first (a status read right after a call shows it).
    if (this.pending.has(scope)) await this.flush();
    return this.guard(async () => {
      const [snap, last] = await this.redis.mget(this.snapKey(scope), this.lastKey(scope));
      return parseSnapshot(snap, last);
    }, () => this.fallback.loadSnapshot(scope));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
    this.availability.stop();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private armFlush(): void {
    if (this.flushTimer || this.pending.size === 0) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flush();
    }, SNAPSHOT_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** Up to `max` unsent snapshots (those of `first`, then the oldest), taken out of `pending`. */
  private takePending(max: number, first: string[] = []): PendingSnapshot[] {
    const out: PendingSnapshot[] = [];
    for (const scope of first) {
      const s = this.pending.get(scope);
      if (s && out.length < max) {
        out.push(s);
        this.pending.delete(scope);
      }
    }
    for (const [scope, s] of this.pending) {
      if (out.length >= max) break;
      out.push(s);
      this.pending.delete(scope);
    }
    if (this.pending.size === 0 && this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    return out;
  }

  private snapshotKeys(writes: PendingSnapshot[]): string[] {
    return writes.flatMap((w) => [this.snapKey(w.scope), this.lastKey(w.scope)]);
  }

  private snapshotArgs(writes: PendingSnapshot[]): string[] {
    return writes.flatMap(({ snapshot: { last429, ...rest }, ttlMs }) =>
      [JSON.stringify(rest), last429 ? JSON.stringify(last429) : '', String(Math.max(1, Math.round(ttlMs)))]);
  }

  private admitArgs(req: AdmitRequest): { keys: string[]; args: string[] } {
    const pool = (id: number) => `${this.prefix}pool:${id}`;
    return {
      keys: [pool(req.windowId), pool(req.windowId - 1), `${this.prefix}active`, `${this.prefix}activity`,
        req.burst ? `${this.prefix}slot:${req.burst.key}` : `${this.prefix}slot:none`],
      args: [req.tenant, String(Math.round(req.nowMs)), String(req.windowMs), String(req.windowEndsMs), String(req.appCap), String(req.shareCap),
        String(req.cost), String(contentionMs(req.windowMs)), String(WAITING_MS), String(DEMAND_MARGIN), String(MIN_RATE_SPAN_MS),
        String(req.burst?.intervalMs ?? 0), String(Math.round(req.burst?.deadlineMs ?? 0)),
        String(Math.ceil(req.windowEndsMs - req.nowMs + req.windowMs + 1000))],
    };
  }

  private blockKey(key: string): string {
    return `${this.prefix}block:${key}`;
  }

  private snapKey(scope: string): string {
    return `${this.prefix}snap:${scope}`;
  }

  private lastKey(scope: string): string {
    return `${this.prefix}last429:${scope}`;
  }

  private async guard<T>(op: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    try {
      return await this.availability.run(op);
    } catch {
      return fallback();
    }
  }
}

function admitResult([code, active, poolUsed, goAt]: number[]): AdmitResult {
  return { verdict: VERDICTS[Number(code)], activeTenants: Number(active), poolUsed: Number(poolUsed), goAtMs: Number(goAt) };
}

/** A stored snapshot and its scope's last 429 (kept in a key of its own); an older writer's JSON may still hold last429. */
function parseSnapshot(snap: string | null, last: string | null): RateLimitSnapshot | null {
  if (!snap) return null;
  const parsed = JSON.parse(snap) as RateLimitSnapshot;
  return last ? { ...parsed, last429: JSON.parse(last) as RateLimitSnapshot['last429'] } : parsed;
}

/** Redis when REDIS_URL is set (every command bounded by JIRA_RATE_STATE_REDIS_TIMEOUT_MS), else memory. */
export const rateLimitStateStoreProvider = {
  provide: RATE_LIMIT_STATE_STORE,
  inject: [JIRA_SETTINGS],
  useFactory: ({ redis, atlassianRateLimit: settings }: JiraModuleSettings): RateLimitStateStore => {
    if (!redis.url) return new InMemoryRateLimitStateStore();
    // Bounded like the throttler's client, and a lost connection is logged once per outage, not per retry.
    const client = boundedRedisClient(redis.url, { commandTimeoutMs: settings.redisTimeoutMs, connectTimeoutMs: redis.connectTimeoutMs },
      'Jira rate-limit state');
    return new RedisRateLimitStateStore(client);
  },
};
