import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { Describe } from './describe.js';
import { Env } from './option-schema.js';

/** `rateLimit`: our own rate limits, and the Redis that shares them (and the governor's state) across instances. */
export class RateLimitOptions {
  /** Length of the rate-limit window, and how long a client that exceeded it is refused. */
  @Env('JIRA_RATE_LIMIT_WINDOW_SECONDS')
  @IsInt()
  @Min(1)
  @Max(86_400)
  @Describe('window length of our own rate limits, and how long a client over the limit is refused')
  windowSeconds: number = 60;

  /** authorize, site selection, disconnect and status?verify=true: requests per user per window (each its own budget). */
  @Env('JIRA_RATE_LIMIT_PER_USER')
  @IsInt()
  @Min(1)
  @Max(100_000)
  @Describe('authorize / site / disconnect / `status?verify=true` requests per user per window (each route its own budget)')
  perUser: number = 20;

  /** OAuth callback: requests per client IP per window. */
  @Env('JIRA_RATE_LIMIT_CALLBACK_PER_IP')
  @IsInt()
  @Min(1)
  @Max(100_000)
  @Describe('OAuth callback requests per client IP per window')
  callbackPerIp: number = 30;

  /** Jira proxy (SPA) requests per user per window: each is one Jira call, as a page of the SPA makes several. */
  @Env('JIRA_PROXY_RATE_LIMIT_PER_USER')
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  @Describe('SPA Jira-proxy requests per user per window (each is one Jira call)')
  proxyPerUser: number = 300;

  /** Shares rate-limit counters across instances; unset keeps them in process memory. */
  @Env('REDIS_URL')
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: '$property must be a redis:// or rediss:// URL' })
  @Describe('share rate-limit counters (ours, and the Jira governor\'s state) across instances; unset keeps them in process memory')
  redisUrl?: string;

  /** A Redis command not answered within this fails (the rate limiter then counts in memory until Redis answers again). */
  @Env('REDIS_COMMAND_TIMEOUT_MS')
  @IsInt()
  @Min(50)
  @Max(10_000)
  @Describe('a Redis command not answered within this fails; the rate limiter then counts in this instance\'s memory until Redis answers again')
  redisCommandTimeoutMs: number = 1000;

  /** TCP connect to Redis, per attempt (ioredis keeps reconnecting in the background). */
  @Env('REDIS_CONNECT_TIMEOUT_MS')
  @IsInt()
  @Min(50)
  @Max(30_000)
  @Describe('a Redis connection attempt not answered within this fails (the client keeps reconnecting in the background)')
  redisConnectTimeoutMs: number = 1000;
}

export interface RateLimitSettings {
  windowMs: number;
  perUser: number;
  callbackPerIp: number;
  proxyPerUser: number;
}

export interface RedisSettings {
  url?: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

export function resolveRateLimitSettings(r: RateLimitOptions): RateLimitSettings {
  return { windowMs: r.windowSeconds * 1000, perUser: r.perUser, callbackPerIp: r.callbackPerIp, proxyPerUser: r.proxyPerUser };
}

export function resolveRedisSettings(r: RateLimitOptions): RedisSettings {
  return { url: r.redisUrl, commandTimeoutMs: r.redisCommandTimeoutMs, connectTimeoutMs: r.redisConnectTimeoutMs };
}
