import { registerAs } from '@nestjs/config';
import { IsOptional, Matches } from 'class-validator';
import { validateEnv } from './validate-env.js';

export class RedisEnv {
  /** Shares rate-limit counters across instances; unset keeps them in process memory. */
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;
}

export function readRedisSettings(env: NodeJS.ProcessEnv = process.env): { url?: string } {
  return { url: validateEnv(RedisEnv, env).REDIS_URL };
}

export const redisConfig = registerAs('redis', () => readRedisSettings());
