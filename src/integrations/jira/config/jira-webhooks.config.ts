import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUrl, Max, Min } from 'class-validator';
import { asList, Env, type Namer } from './option-schema.js';
import { Describe } from './describe.js';

const HTTP_URL = { require_tld: false, protocols: ['http', 'https'], require_protocol: true };

/** `webhooks`: managed Jira webhooks (src/integrations/jira/webhooks): what to register and how to deliver. */
export class WebhookOptions {
  /** The public URL Jira posts to (Atlassian allows one per app), e.g. https://api.example.com/api/integrations/jira/webhooks. */
  @Env('JIRA_WEBHOOK_URL')
  @IsOptional()
  @IsUrl(HTTP_URL, { message: '$property must be an absolute http(s) URL' })
  @Describe('the public URL Jira posts to (must reach `POST /api/integrations/jira/webhooks`; Atlassian allows one per app); required when any subscription exists')
  url?: string;

  /** Comma-separated Jira events registered for every connected team (standalone server). */
  @Env('JIRA_WEBHOOK_EVENTS')
  @Transform(({ obj, key }) => asList((obj as Record<string, unknown>)[key]))
  @IsString({ each: true })
  @Describe('comma-separated Jira events registered for every connected team (standalone server); unset: nothing is registered from configuration')
  events: string[] = [];

  /** The JQL filter of those events (Jira's webhook subset). */
  @Env('JIRA_WEBHOOK_JQL')
  @IsOptional()
  @IsString()
  @Describe('the JQL filter of those events, in Jira\'s webhook subset (required with `JIRA_WEBHOOK_EVENTS`)')
  jql?: string;

  /** Optional comma-separated field ids: jira:issue_updated only when one of them changed. */
  @Env('JIRA_WEBHOOK_FIELD_IDS')
  @Transform(({ obj, key }) => asList((obj as Record<string, unknown>)[key]))
  @IsString({ each: true })
  @Describe('optional `fieldIdsFilter`, comma-separated: `jira:issue_updated` only when one of these fields changed')
  fieldIds: string[] = [];

  /** Registrations are verified (listed) and refreshed at least this often. */
  @Env('JIRA_WEBHOOK_CHECK_HOURS')
  @IsInt()
  @Min(1)
  @Max(24 * 20)
  @Describe('each registration is listed and refreshed at least this often')
  checkHours: number = 24;

  /** How often the renewal job (one run across all instances, on the job runner) looks for registrations due; 0: never (tests call runOnce). */
  @Env('JIRA_WEBHOOK_JOB_INTERVAL_SECONDS')
  @IsInt()
  @Min(0)
  @Max(86_400)
  @Describe('how often the renewal job looks for registrations due: one run per period across all instances (`0`: never)')
  jobIntervalSeconds: number = 300;

  /** Handler attempts per event before it is dead-lettered. */
  @Env('JIRA_WEBHOOK_MAX_ATTEMPTS')
  @IsInt()
  @Min(1)
  @Max(50)
  @Describe('handler attempts before an event is dead-lettered')
  maxAttempts: number = 8;

  /** First retry delay of a failed event; doubles per attempt (jittered), at most one hour. */
  @Env('JIRA_WEBHOOK_RETRY_BASE_MS')
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  @Describe('first retry delay of a failed event; doubles per attempt, jittered, at most one hour')
  retryBaseMs: number = 2_000;

  /** A handler still running after this is treated as failed. */
  @Env('JIRA_WEBHOOK_HANDLER_TIMEOUT_MS')
  @IsInt()
  @Min(100)
  @Max(600_000)
  @Describe('a handler running longer counts as failed')
  handlerTimeoutMs: number = 30_000;

  /** A claimed event whose instance died is picked up again after this. */
  @Env('JIRA_WEBHOOK_LEASE_MS')
  @IsInt()
  @Min(500)
  @Max(3_600_000)
  @Describe('a claimed event whose process died is retried after this (must exceed `JIRA_WEBHOOK_HANDLER_TIMEOUT_MS`)')
  leaseMs: number = 120_000;

  /** How often each instance polls the inbox (new deliveries are dispatched at once anyway). */
  @Env('JIRA_WEBHOOK_POLL_MS')
  @IsInt()
  @Min(0)
  @Max(600_000)
  @Describe('how often an idle instance looks for events it was not told about (left by a stopped instance); its own deliveries are dispatched at once, retries when due')
  pollMs: number = 30_000;

  /** Largest delivery read; past it reading stops and the answer is 413. */
  @Env('JIRA_WEBHOOK_MAX_BODY_KB')
  @IsInt()
  @Min(16)
  @Max(16_384)
  @Describe('largest delivery read (413 above; the rest is not read)')
  maxBodyKb: number = 1_024;

  /** A delivery's JWT may be valid for at most this much longer (Jira's are valid for a few minutes). */
  @Env('JIRA_WEBHOOK_JWT_MAX_LIFETIME_SECONDS')
  @IsInt()
  @Min(60)
  @Max(86_400)
  @Describe('a delivery\'s JWT may expire at most this far ahead; longer is 401')
  jwtMaxLifetimeSeconds: number = 600;
}

export interface JiraWebhookSettings {
  url?: string;
  events: string[];
  jql?: string;
  fieldIds: string[];
  checkIntervalMs: number;
  jobIntervalMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  handlerTimeoutMs: number;
  leaseMs: number;
  pollMs: number;
  maxBodyBytes: number;
  jwtMaxLifetimeSeconds: number;
}

export function resolveWebhookSettings(w: WebhookOptions, name: Namer, problems: string[]): JiraWebhookSettings {
  if (w.events.length > 0 && !w.jql) {
    problems.push(`${name('webhooks', 'jql')} is required with ${name('webhooks', 'events')} (Jira requires a filter), e.g. "project = ABC"`);
  }
  if (w.leaseMs <= w.handlerTimeoutMs) problems.push(`${name('webhooks', 'leaseMs')} must be longer than ${name('webhooks', 'handlerTimeoutMs')}`);
  return {
    url: w.url,
    events: w.events,
    jql: w.jql,
    fieldIds: w.fieldIds,
    checkIntervalMs: w.checkHours * 3_600_000,
    jobIntervalMs: w.jobIntervalSeconds * 1000,
    maxAttempts: w.maxAttempts,
    retryBaseMs: w.retryBaseMs,
    handlerTimeoutMs: w.handlerTimeoutMs,
    leaseMs: w.leaseMs,
    pollMs: w.pollMs,
    maxBodyBytes: w.maxBodyKb * 1024,
    jwtMaxLifetimeSeconds: w.jwtMaxLifetimeSeconds,
  };
}
