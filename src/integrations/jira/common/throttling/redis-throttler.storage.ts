import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { LuaScript, RedisAvailability } from './bounded-redis.js';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/*
 * One atomic step per request: while the block key lives, refuse; otherwise count the hit in a
 * fixed window and, past the limit, start a block (and a fresh window after it).
 * KEYS: hits, block. ARGV: ttl ms, limit, block ms. Returns {hits, windowMs, blocked, blockMs}.
 */
const INCREMENT = new LuaScript(`
local blockMs = redis.call('PTTL', KEYS[2])
if blockMs > 0 then
  return {tonumber(ARGV[2]) + 1, blockMs, 1, blockMs}
end
local hits = redis.call('INCR', KEYS[1])
local windowMs = redis.call('PTTL', KEYS[1])
if windowMs < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  windowMs = tonumber(ARGV[1])
end
if hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return {hits, tonumber(ARGV[3]), 1, tonumber(ARGV[3])}
end
return {hits, windowMs, 0, 0}
`);

/** Bound on QUIT at shutdown: a stalled Redis must not hold the process open. */
const QUIT_TIMEOUT_MS = 1000;

/**
 * ThrottlerStorage on Redis, so every instance counts against the same limits
 * (@nest-lab/throttler-storage-redis does not support Nest 12). If Redis is unreachable or
 * stalled (commands time out, see REDIS_COMMAND_TIMEOUT_MS) the request is counted in this
 * instance's memory instead (@nestjs/throttler's own in-memory storage): rate limiting protects
 * the service but must not take the OAuth flow down with it, nor vanish during an outage. The
 * outage is logged once when it starts and once when Redis answers again; meanwhile requests skip
 * Redis without waiting (RedisAvailability), and a background PING decides when it is back.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  readonly availability: RedisAvailability;
  /** Where requests are counted while Redis is down: per instance, so N instances allow N × the limit. */
  private readonly memory = new ThrottlerStorageService();

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'jira-connect:throttle:',
  ) {
    this.availability = new RedisAvailability(redis, {
      purpose: 'rate-limit counters',
      onDown: (err) => this.logger.warn({ err: { message: err.message },
        msg: 'rate-limit storage unavailable; requests are limited in this instance\'s memory until Redis answers again' }),
      onUp: (downMs) => this.logger.log({ downMs, msg: 'rate-limit storage recovered; requests are limited in Redis again' }),
    });
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const base = `${this.prefix}${throttlerName}:${key}`;
    try {
      const [hits, windowMs, blocked, blockMs] = (await this.availability.run((redis) => INCREMENT.run(
        redis, [`${base}:hits`, `${base}:block`], [String(ttl), String(limit), String(Math.max(1, blockDuration))],
      ))) as [number, number, number, number];
      return {
        totalHits: hits,
        timeToExpire: Math.ceil(windowMs / 1000),
        isBlocked: blocked === 1,
        timeToBlockExpire: Math.ceil(blockMs / 1000),
      };
    } catch {
      return this.memory.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.availability.stop();
    this.memory.onApplicationShutdown();
    const quit = this.redis.quit().then(() => true, () => false);
    const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, QUIT_TIMEOUT_MS, false).unref());
    if (!(await Promise.race([quit, timeout]))) this.redis.disconnect();
  }
}
