import { registerAs } from '@nestjs/config';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { validateEnv } from './validate-env.js';
import { Describe } from './describe.js';

export class RedisEnv {
  /** Shares rate-limit counters across instances; unset keeps them in process memory. */
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  @Describe('share rate-limit counters (ours, and the Jira governor\'s state) across instances; unset keeps them in process memory')
  REDIS_URL?: string;

  /** A Redis command not answered within this fails (the rate limiter then counts in memory until Redis answers again). */
  @IsInt()
  @Min(50)
  @Max(10_000)
  @Describe('a Redis command not answered within this fails; the rate limiter then counts in this instance\'s memory until Redis answers again')
  REDIS_COMMAND_TIMEOUT_MS: number = 1000;

  /** TCP connect to Redis, per attempt (ioredis keeps reconnecting in the background). */
  @IsInt()
  @Min(50)
  @Max(30_000)
  @Describe('a Redis connection attempt not answered within this fails (the client keeps reconnecting in the background)')
  REDIS_CONNECT_TIMEOUT_MS: number = 1000;
}

export interface RedisSettings {
  url?: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

export function readRedisSettings(env: NodeJS.ProcessEnv = process.env): RedisSettings {
  const parsed = validateEnv(RedisEnv, env);
  return { url: parsed.REDIS_URL, commandTimeoutMs: parsed.REDIS_COMMAND_TIMEOUT_MS, connectTimeoutMs: parsed.REDIS_CONNECT_TIMEOUT_MS };
}

export const redisConfig = registerAs('redis', () => readRedisSettings());
