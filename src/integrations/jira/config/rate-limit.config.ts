import { registerAs } from '@nestjs/config';
import { IsInt, Max, Min } from 'class-validator';
import { validateEnv } from './validate-env.js';
import { Describe } from './describe.js';

export class RateLimitEnv {
  /** Length of the rate-limit window, and how long a client that exceeded it is refused. */
  @IsInt()
  @Min(1)
  @Max(86_400)
  @Describe('window length of our own rate limits, and how long a client over the limit is refused')
  JIRA_RATE_LIMIT_WINDOW_SECONDS: number = 60;

  /** authorize, site selection, disconnect and status?verify=true: requests per user per window (each its own budget). */
  @IsInt()
  @Min(1)
  @Max(100_000)
  @Describe('authorize / site / disconnect / `status?verify=true` requests per user per window (each route its own budget)')
  JIRA_RATE_LIMIT_PER_USER: number = 20;

  /** OAuth callback: requests per client IP per window. */
  @IsInt()
  @Min(1)
  @Max(100_000)
  @Describe('OAuth callback requests per client IP per window')
  JIRA_RATE_LIMIT_CALLBACK_PER_IP: number = 30;

  /** Jira proxy (SPA) requests per user per window: each is one Jira call, as a page of the SPA makes several. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  @Describe('SPA Jira-proxy requests per user per window (each is one Jira call)')
  JIRA_PROXY_RATE_LIMIT_PER_USER: number = 300;
}

export interface RateLimitSettings {
  windowMs: number;
  perUser: number;
  callbackPerIp: number;
  proxyPerUser: number;
}

export function readRateLimitSettings(env: NodeJS.ProcessEnv = process.env): RateLimitSettings {
  const parsed = validateEnv(RateLimitEnv, env);
  return {
    windowMs: parsed.JIRA_RATE_LIMIT_WINDOW_SECONDS * 1000,
    perUser: parsed.JIRA_RATE_LIMIT_PER_USER,
    callbackPerIp: parsed.JIRA_RATE_LIMIT_CALLBACK_PER_IP,
    proxyPerUser: parsed.JIRA_PROXY_RATE_LIMIT_PER_USER,
  };
}

export const rateLimitConfig = registerAs('rateLimit', () => readRateLimitSettings());
