import { registerAs } from '@nestjs/config';
import { IsInt, IsOptional, IsUrl, Max, Min, MinLength } from 'class-validator';
import { RuntimeEnv } from './runtime.env.js';
import { EnvValidationError, isPlaceholder, validateEnv } from './validate-env.js';
import { Describe } from './describe.js';

export class NotifyEnv extends RuntimeEnv {
  /** Where notifications are POSTed; unset = none are recorded or sent. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }, { message: 'NOTIFY_WEBHOOK_URL must be an http(s) URL' })
  @Describe('where notifications are POSTed; unset = none are recorded or sent')
  NOTIFY_WEBHOOK_URL?: string;

  /** HMAC-SHA256 key of the signature header; required with NOTIFY_WEBHOOK_URL. */
  @IsOptional()
  @MinLength(32, { message: 'NOTIFY_WEBHOOK_SECRET must be at least 32 characters long' })
  @Describe('HMAC-SHA256 key of the signature header; required with `NOTIFY_WEBHOOK_URL`')
  NOTIFY_WEBHOOK_SECRET?: string;

  @IsInt()
  @Min(100)
  @Max(120_000)
  @Describe('per delivery request')
  NOTIFY_TIMEOUT_MS: number = 10_000;

  /** How often each instance looks for due notifications. */
  @IsInt()
  @Min(10)
  @Max(600_000)
  @Describe('how often an idle instance looks for notifications it was not told about (left by a stopped instance); its own are sent when their transaction commits, retries when due')
  NOTIFY_POLL_INTERVAL_MS: number = 30_000;

  /** First retry delay; doubles per attempt (jittered) up to NOTIFY_RETRY_MAX_MS. */
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  @Describe('first retry delay; doubles per attempt (jittered ±50 %) up to `NOTIFY_RETRY_MAX_MS`')
  NOTIFY_RETRY_BASE_MS: number = 10_000;

  @IsInt()
  @Min(10)
  @Max(86_400_000)
  @Describe('cap of the retry delay (not below `NOTIFY_RETRY_BASE_MS`)')
  NOTIFY_RETRY_MAX_MS: number = 3_600_000;

  /** How long a notification is retried before it is marked failed (at least a day). */
  @IsInt()
  @Min(24)
  @Max(24 * 30)
  @Describe('how long a notification is retried before it is marked failed')
  NOTIFY_RETRY_FOR_HOURS: number = 72;
}

export interface NotifySettings {
  url?: string;
  secret?: string;
  timeoutMs: number;
  pollIntervalMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  retryForMs: number;
}

export function readNotifySettings(env: NodeJS.ProcessEnv = process.env): NotifySettings {
  const parsed = validateEnv(NotifyEnv, env);
  if (parsed.NOTIFY_WEBHOOK_URL && (!parsed.NOTIFY_WEBHOOK_SECRET || isPlaceholder(parsed.NOTIFY_WEBHOOK_SECRET))) {
    throw new EnvValidationError(['NOTIFY_WEBHOOK_SECRET (at least 32 random characters) is required with NOTIFY_WEBHOOK_URL']);
  }
  if (parsed.NOTIFY_RETRY_MAX_MS < parsed.NOTIFY_RETRY_BASE_MS) {
    throw new EnvValidationError(['NOTIFY_RETRY_MAX_MS must not be below NOTIFY_RETRY_BASE_MS']);
  }
  return {
    url: parsed.NOTIFY_WEBHOOK_URL,
    secret: parsed.NOTIFY_WEBHOOK_URL ? parsed.NOTIFY_WEBHOOK_SECRET : undefined,
    timeoutMs: parsed.NOTIFY_TIMEOUT_MS,
    pollIntervalMs: parsed.NOTIFY_POLL_INTERVAL_MS,
    retryBaseMs: parsed.NOTIFY_RETRY_BASE_MS,
    retryMaxMs: parsed.NOTIFY_RETRY_MAX_MS,
    retryForMs: parsed.NOTIFY_RETRY_FOR_HOURS * 3_600_000,
  };
}

export const notifyConfig = registerAs('notify', () => readNotifySettings());
