import { IsInt, IsOptional, IsUrl, Max, Min, MinLength } from 'class-validator';
import { isPlaceholder } from './validate-env.js';
import { Describe } from './describe.js';
import { Env, type Namer } from './option-schema.js';

/** `notifications`: signed, durable notifications of connection changes to your backend. */
export class NotificationOptions {
  /** Where notifications are POSTed; unset = none are recorded or sent. */
  @Env('NOTIFY_WEBHOOK_URL')
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }, { message: '$property must be an http(s) URL' })
  @Describe('where notifications are POSTed; unset = none are recorded or sent')
  webhookUrl?: string;

  /** HMAC-SHA256 key of the signature header; required with NOTIFY_WEBHOOK_URL. */
  @Env('NOTIFY_WEBHOOK_SECRET')
  @IsOptional()
  @MinLength(32, { message: '$property must be at least 32 characters long' })
  @Describe('HMAC-SHA256 key of the signature header; required with `NOTIFY_WEBHOOK_URL`')
  secret?: string;

  @Env('NOTIFY_TIMEOUT_MS')
  @IsInt()
  @Min(100)
  @Max(120_000)
  @Describe('per delivery request')
  timeoutMs: number = 10_000;

  /** How often each instance looks for due notifications. */
  @Env('NOTIFY_POLL_INTERVAL_MS')
  @IsInt()
  @Min(10)
  @Max(600_000)
  @Describe('how often an idle instance looks for notifications it was not told about (left by a stopped instance); its own are sent when their transaction commits, retries when due')
  pollIntervalMs: number = 30_000;

  /** First retry delay; doubles per attempt (jittered) up to NOTIFY_RETRY_MAX_MS. */
  @Env('NOTIFY_RETRY_BASE_MS')
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  @Describe('first retry delay; doubles per attempt (jittered) up to `NOTIFY_RETRY_MAX_MS`')
  retryBaseMs: number = 10_000;

  @Env('NOTIFY_RETRY_MAX_MS')
  @IsInt()
  @Min(10)
  @Max(86_400_000)
  @Describe('cap of the retry delay (not below `NOTIFY_RETRY_BASE_MS`)')
  retryMaxMs: number = 3_600_000;

  /** How long a notification is retried before it is marked failed (at least a day). */
  @Env('NOTIFY_RETRY_FOR_HOURS')
  @IsInt()
  @Min(24)
  @Max(24 * 30)
  @Describe('how long a notification is retried before it is marked failed')
  retryForHours: number = 72;
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

export function resolveNotifySettings(n: NotificationOptions, name: Namer, problems: string[]): NotifySettings {
  if (n.webhookUrl && (!n.secret || isPlaceholder(n.secret))) {
    problems.push(`${name('notifications', 'secret')} (at least 32 random characters) is required with ${name('notifications', 'webhookUrl')}`);
  }
  if (n.retryMaxMs < n.retryBaseMs) problems.push(`${name('notifications', 'retryMaxMs')} must not be below ${name('notifications', 'retryBaseMs')}`);
  return {
    url: n.webhookUrl,
    secret: n.webhookUrl ? n.secret : undefined,
    timeoutMs: n.timeoutMs,
    pollIntervalMs: n.pollIntervalMs,
    retryBaseMs: n.retryBaseMs,
    retryMaxMs: n.retryMaxMs,
    retryForMs: n.retryForHours * 3_600_000,
  };
}
