import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { boundedRedisClient, RedisAvailability } from '../../../common/throttling/bounded-redis.js';
import { jiraRateLimitConfig } from '../../../config/jira-rate-limit.config.js';
import { redisConfig } from '../../../config/redis.config.js';

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
  windowEndsMs: number;
  appCap: number;
  tenantCap: number;
  nowMs: number;
  /** A tenant that asked within this long counts as waiting (fair share applies). */
  activeMs: number;
}

export interface AdmitResult {
  verdict: 'ok' | 'app_pool' | 'fair_share';
  /** Tenants (this one included) that asked within `activeMs`. */
  activeTenants: number;
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
  /** Count one call against the pool, unless the pool or the tenant's fair share is used up. */
  admit(req: AdmitRequest): Promise<AdmitResult>;
  /** The next free slot of a paced scope, `intervalMs` after the previous one; null (nothing reserved) past `deadlineMs`. */
  reserveSlot(key: string, intervalMs: number, nowMs: number, deadlineMs: number): Promise<number | null>;
  saveSnapshot(scope: string, snapshot: RateLimitSnapshot, ttlMs: number): Promise<void>;
  loadSnapshot(scope: string): Promise<RateLimitSnapshot | null>;
}

export const RATE_LIMIT_STATE_STORE = Symbol('RATE_LIMIT_STATE_STORE');

/** One process's state (no REDIS_URL), and the fallback while Redis fails. */
export class InMemoryRateLimitStateStore implements RateLimitStateStore {
  private readonly blocks = new Map<string, number>();
  private readonly counters = new Map<string, { n: number; expiresMs: number }>();
  private readonly active = new Map<string, number>();
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
    this.active.set(req.tenant, req.nowMs);
    for (const [t, at] of this.active) if (at <= req.nowMs - req.activeMs) this.active.delete(t);
    const verdict = this.countCall(req);
    return { verdict, activeTenants: this.active.size };
  }

  private countCall(req: AdmitRequest): AdmitResult['verdict'] {
    const appKey = `pool:${req.windowId}`;
    const mineKey = `pool:${req.windowId}:${req.tenant}`;
    const count = (k: string): number => {
      const c = this.counters.get(k);
      return c && c.expiresMs > req.nowMs ? c.n : 0;
    };
    if (count(appKey) >= req.appCap) return 'app_pool';
    if (count(mineKey) >= req.tenantCap) {
      if (this.active.size > 1) return 'fair_share';
    }
    for (const k of [appKey, mineKey]) this.counters.set(k, { n: count(k) + 1, expiresMs: req.windowEndsMs });
    if (this.counters.size > 10_000) for (const [k, c] of this.counters) if (c.expiresMs <= req.nowMs) this.counters.delete(k);
    return 'ok';
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
}

const BLOCK = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`;

/* KEYS: app usage, tenant usage, active zset. ARGV: tenant, now, activeMs, appCap, tenantCap, ttlMs. Returns {verdict, active tenants}. */
const ADMIT = `
local now = tonumber(ARGV[2])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[3], ARGV[3])
local active = redis.call('ZCARD', KEYS[3])
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[4]) then return {1, active} end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[5]) and active > 1 then return {2, active} end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {0, active}`;

/* KEYS: slot. ARGV: interval, now, deadline. */
const SLOT = `
local slot = math.max(tonumber(ARGV[2]), tonumber(redis.call('GET', KEYS[1]) or '0'))
if slot > tonumber(ARGV[3]) then return -1 end
redis.call('SET', KEYS[1], tostring(slot + tonumber(ARGV[1])), 'PX', math.max(1000, slot + tonumber(ARGV[1]) - tonumber(ARGV[2])))
return slot`;

/**
 * The state in Redis, shared by every instance. Each command is bounded by the client's
 * `commandTimeout`; on a Redis error the call is answered from this process's memory, and so is
 * every call after it, at once, until a background PING gets an answer (RedisAvailability): rate-limit
 * coordination must not take Jira calls down with it, nor slow each of them by a timeout.
 */
export class RedisRateLimitStateStore implements RateLimitStateStore, OnApplicationShutdown {
  private readonly logger = new Logger(RedisRateLimitStateStore.name);
  private readonly fallback = new InMemoryRateLimitStateStore();
  readonly availability: RedisAvailability;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'jira-connect:jira-rl:',
  ) {
    this.availability = new RedisAvailability(redis, {
      purpose: 'Jira rate-limit state',
      onDown: (err) => this.logger.warn({ err: { message: err.message } },
        'rate-limit state in Redis unavailable; using this instance\'s memory until Redis answers again'),
      onUp: (downMs) => this.logger.log({ downMs }, 'rate-limit state in Redis answers again'),
    });
  }

  blockedUntil(keys: string[], nowMs: number): Promise<{ untilMs: number; key?: string }> {
    return this.guard(async () => {
      const values = await this.redis.mget(...keys.map((k) => this.prefix + `block:${k}`));
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
      await this.redis.eval(BLOCK, 1, this.prefix + `block:${key}`, String(Math.ceil(untilMs)), String(Math.max(1, Math.ceil(untilMs - nowMs))));
      // Also locally, so this instance honours the block even if Redis fails right after.
      await this.fallback.block(key, untilMs);
    }, () => this.fallback.block(key, untilMs));
  }

  admit(req: AdmitRequest): Promise<AdmitResult> {
    return this.guard(async () => {
      const p = `${this.prefix}pool:${req.windowId}`;
      const [code, active] = (await this.redis.eval(ADMIT, 3, p, `${p}:${req.tenant}`, `${this.prefix}active`, req.tenant, String(req.nowMs),
        String(Math.round(req.activeMs)), String(req.appCap), String(req.tenantCap), String(Math.max(1000, Math.ceil(req.windowEndsMs - req.nowMs + 1000))))) as [number, number];
      return { verdict: code === 0 ? 'ok' : code === 1 ? 'app_pool' : 'fair_share', activeTenants: Number(active) };
    }, () => this.fallback.admit(req));
  }

  reserveSlot(key: string, intervalMs: number, nowMs: number, deadlineMs: number): Promise<number | null> {
    return this.guard(async () => {
      const slot = Number(await this.redis.eval(SLOT, 1, this.prefix + `slot:${key}`, String(Math.max(1, Math.round(intervalMs))), String(Math.round(nowMs)), String(Math.round(deadlineMs))));
      return slot < 0 ? null : slot;
    }, () => this.fallback.reserveSlot(key, intervalMs, nowMs, deadlineMs));
  }

  saveSnapshot(scope: string, snapshot: RateLimitSnapshot, ttlMs: number): Promise<void> {
    return this.guard(async () => {
      await this.redis.set(this.prefix + `snap:${scope}`, JSON.stringify(snapshot), 'PX', Math.max(1, Math.round(ttlMs)));
    }, () => this.fallback.saveSnapshot(scope, snapshot, ttlMs));
  }

  loadSnapshot(scope: string): Promise<RateLimitSnapshot | null> {
    return this.guard(async () => {
      const raw = await this.redis.get(this.prefix + `snap:${scope}`);
      return raw ? (JSON.parse(raw) as RateLimitSnapshot) : null;
    }, () => this.fallback.loadSnapshot(scope));
  }

  async onApplicationShutdown(): Promise<void> {
    this.availability.stop();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async guard<T>(op: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    try {
      return await this.availability.run(op);
    } catch {
      return fallback();
    }
  }
}

/** Redis when REDIS_URL is set (every command bounded by JIRA_RATE_STATE_REDIS_TIMEOUT_MS), else memory. */
export const rateLimitStateStoreProvider = {
  provide: RATE_LIMIT_STATE_STORE,
  inject: [redisConfig.KEY, jiraRateLimitConfig.KEY],
  useFactory: (redis: ConfigType<typeof redisConfig>, settings: ConfigType<typeof jiraRateLimitConfig>): RateLimitStateStore => {
    if (!redis.url) return new InMemoryRateLimitStateStore();
    // Bounded like the throttler's client, and a lost connection is logged once per outage, not per retry.
    const client = boundedRedisClient(redis.url, { commandTimeoutMs: settings.redisTimeoutMs, connectTimeoutMs: redis.connectTimeoutMs },
      'Jira rate-limit state');
    return new RedisRateLimitStateStore(client);
  },
};
