import { registerAs } from '@nestjs/config';
import { IsOptional, Matches } from 'class-validator';
import { validateEnv } from './validate-env.js';

export class RedisEnv {
  /** Shares rate-limit counters across instances; unset keeps them in process memory. */
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;
}

export const redisConfig = registerAs('redis', () => ({ url: validateEnv(RedisEnv).REDIS_URL }));
