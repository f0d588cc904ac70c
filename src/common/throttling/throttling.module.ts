import { type ExecutionContext, Logger, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ThrottlerModule, ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import { rateLimitConfig } from '../../config/rate-limit.config.js';
import { redisConfig } from '../../config/redis.config.js';
import type { AuthenticatedRequest } from '../../auth/current-user.decorator.js';
import { PER_IP, PER_USER, VERIFY_PER_USER } from './rate-limit.guard.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

export const RATE_LIMIT_STORAGE = Symbol('RATE_LIMIT_STORAGE');

/**
 * Every Redis wait is bounded: a command (also one queued while reconnecting) fails after
 * `commandTimeoutMs`, a connection attempt after `connectTimeoutMs`. ioredis keeps reconnecting
 * in the background; a lost connection is logged once, and again only after it was back.
 */
export function boundedRedisClient(url: string, bounds: { commandTimeoutMs: number; connectTimeoutMs: number }): Redis {
  const client = new Redis(url, {
    commandTimeout: bounds.commandTimeoutMs,
    connectTimeout: bounds.connectTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
  });
  const logger = new Logger('RateLimitRedis');
  let connected = true;
  client.on('error', (err: Error) => {
    if (!connected) return;
    connected = false;
    logger.warn({ err: { message: err.message } }, 'redis connection lost; reconnecting in the background');
  });
  client.on('ready', () => {
    if (!connected) logger.log('redis connection restored');
    connected = true;
  });
  return client;
}

/** Counters in Redis when REDIS_URL is set (shared by all instances), else in process memory. */
@Module({
  providers: [
    {
      provide: RATE_LIMIT_STORAGE,
      inject: [redisConfig.KEY],
      useFactory: (redis: ConfigType<typeof redisConfig>): ThrottlerStorage => {
        if (!redis.url) return new ThrottlerStorageService();
        return new RedisThrottlerStorage(boundedRedisClient(redis.url, redis));
      },
    },
  ],
  exports: [RATE_LIMIT_STORAGE],
})
class RateLimitStorageModule {}

const clientIp = (req: AuthenticatedRequest): string => req.ip ?? req.socket?.remoteAddress ?? 'unknown';
const userTracker = (req: unknown): string => {
  const r = req as AuthenticatedRequest;
  return r.user ? `user:${r.user.id}` : `ip:${clientIp(r)}`;
};
const asksToVerify = (context: ExecutionContext): boolean =>
  String(context.switchToHttp().getRequest<AuthenticatedRequest>().query?.verify).toLowerCase() === 'true';

/**
 * Named throttlers over one window: `per-user` (tracker: the bearer token's user), `per-ip`, and
 * `verify-per-user` (only requests with ?verify=true). Routes pick one with @RateLimitPerUser(),
 * @RateLimitPerIp() or @RateLimitVerifyPerUser(), under @UseGuards(RateLimitGuard).
 */
export const ThrottlingModule = ThrottlerModule.forRootAsync({
  imports: [RateLimitStorageModule],
  inject: [RATE_LIMIT_STORAGE, rateLimitConfig.KEY],
  useFactory: (storage: ThrottlerStorage, limits: ConfigType<typeof rateLimitConfig>) => ({
    storage,
    throttlers: [
      {
        name: PER_USER,
        ttl: limits.windowMs,
        limit: limits.perUser,
        getTracker: userTracker,
      },
      {
        name: PER_IP,
        ttl: limits.windowMs,
        limit: limits.callbackPerIp,
        getTracker: (req: unknown) => `ip:${clientIp(req as AuthenticatedRequest)}`,
      },
      {
        name: VERIFY_PER_USER,
        ttl: limits.windowMs,
        limit: limits.perUser,
        getTracker: userTracker,
        skipIf: (context: ExecutionContext) => !asksToVerify(context),
      },
    ],
  }),
});
