import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

/**
 * Every Redis wait is bounded: a command (also one queued while reconnecting) fails after
 * `commandTimeoutMs`, a connection attempt after `connectTimeoutMs`. ioredis keeps reconnecting
 * in the background; a lost connection is logged once, and again only after it was back.
 */
export function boundedRedisClient(url: string, bounds: { commandTimeoutMs: number; connectTimeoutMs: number }, purpose = 'rate-limit counters'): Redis {
  const client = new Redis(url, {
    commandTimeout: bounds.commandTimeoutMs,
    connectTimeout: bounds.connectTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
  });
  const logger = new Logger('Redis');
  let connected = true;
  client.on('error', (err: Error) => {
    if (!connected) return;
    connected = false;
    logger.warn({ err: { message: err.message }, msg: `redis connection lost (${purpose}); reconnecting in the background` });
  });
  client.on('ready', () => {
    if (!connected) logger.log(`redis connection restored (${purpose})`);
    connected = true;
  });
  return client;
}

/** Thrown at once, without a Redis round trip, while Redis is known to be down. */
export class RedisUnavailableError extends Error {
  constructor(purpose: string) {
    super(`redis unavailable (${purpose}); skipped until the background probe gets an answer`);
  }
}

/** How often the background PING asks a Redis that is down whether it answers again. */
export const REDIS_PROBE_INTERVAL_MS = 1000;

/**
 * Whether Redis answers, for the callers that fall back to memory. The first command that fails
 * (a timeout, a refused connection) marks Redis down; from then on `run` throws
 * RedisUnavailableError at once, so requests answer from memory without waiting, while one
 * background PING per interval (never two at a time, each bounded by the client's command
 * timeout) decides when it is back. Timers are unref'd: they never hold the process open.
 */
export class RedisAvailability {
  private down = false;
  private probe: NodeJS.Timeout | null = null;
  private probing = false;
  /** Calls answered without asking Redis (tests and metrics read it). */
  skipped = 0;

  constructor(
    private readonly client: Redis,
    private readonly hooks: { purpose: string; onDown?: (err: Error) => void; onUp?: (downMs: number) => void },
    private readonly probeIntervalMs = REDIS_PROBE_INTERVAL_MS,
  ) {}

  private since = 0;

  get isDown(): boolean {
    return this.down;
  }

  async run<T>(command: (client: Redis) => Promise<T>): Promise<T> {
    if (this.down) {
      this.skipped++;
      throw new RedisUnavailableError(this.hooks.purpose);
    }
    try {
      return await command(this.client);
    } catch (err) {
      this.markDown(err as Error);
      throw err;
    }
  }

  /** Stops the probe (shutdown). */
  stop(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }

  private markDown(err: Error): void {
    if (this.down) return;
    this.down = true;
    this.since = Date.now();
    this.hooks.onDown?.(err);
    this.probe = setInterval(() => void this.ping(), this.probeIntervalMs);
    this.probe.unref();
  }

  private async ping(): Promise<void> {
    if (this.probing || !this.down) return;
    this.probing = true;
    try {
      await this.client.ping();
      this.stop();
      this.down = false;
      this.hooks.onUp?.(Date.now() - this.since);
    } catch {
      // Still down: the next interval asks again.
    } finally {
      this.probing = false;
    }
  }
}

/**
 * A Lua script sent by its SHA1 (EVALSHA): the text goes over the wire on a client's first use
 * (EVAL, which also loads it), and again only when Redis answers NOSCRIPT (after a restart or
 * SCRIPT FLUSH). One round trip either way, except that NOSCRIPT answer.
 */
export class LuaScript {
  readonly sha: string;
  private readonly loaded = new WeakSet<Redis>();

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: string[]): Promise<unknown> {
    if (!this.loaded.has(redis)) {
      const out = await redis.eval(this.lua, keys.length, ...keys, ...args);
      this.loaded.add(redis);
      return out;
    }
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
