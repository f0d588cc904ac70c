import { registerAs } from '@nestjs/config';
import { IsInt, IsOptional, IsString, IsUrl, Max, Min } from 'class-validator';
import { EnvValidationError, validateEnv } from './validate-env.js';
import { Describe } from './describe.js';

const HTTP_URL = { require_tld: false, protocols: ['http', 'https'], require_protocol: true };

/** Managed Jira webhooks (src/integrations/jira/webhooks): what to register and how to deliver. */
export class JiraWebhooksEnv {
  /** The public URL Jira posts to (Atlassian allows one per app), e.g. https://api.example.com/api/integrations/jira/webhooks. */
  @IsOptional()
  @IsUrl(HTTP_URL, { message: 'JIRA_WEBHOOK_URL must be an absolute http(s) URL' })
  @Describe('the public URL Jira posts to (must reach `POST /api/integrations/jira/webhooks`; Atlassian allows one per app); required when any subscription exists')
  JIRA_WEBHOOK_URL?: string;

  /** Comma-separated Jira events registered for every connected team (standalone server). */
  @IsOptional()
  @IsString()
  @Describe('comma-separated Jira events registered for every connected team (standalone server); unset: nothing is registered from configuration')
  JIRA_WEBHOOK_EVENTS?: string;

  /** The JQL filter of those events (Jira's webhook subset). */
  @IsOptional()
  @IsString()
  @Describe('the JQL filter of those events, in Jira\'s webhook subset (required with `JIRA_WEBHOOK_EVENTS`)')
  JIRA_WEBHOOK_JQL?: string;

  /** Optional comma-separated field ids: jira:issue_updated only when one of them changed. */
  @IsOptional()
  @IsString()
  @Describe('optional `fieldIdsFilter`, comma-separated: `jira:issue_updated` only when one of these fields changed')
  JIRA_WEBHOOK_FIELD_IDS?: string;

  /** Registrations are verified (listed) and refreshed at least this often. */
  @IsInt()
  @Min(1)
  @Max(24 * 20)
  @Describe('each registration is listed and refreshed at least this often')
  JIRA_WEBHOOK_CHECK_HOURS: number = 24;

  /** How often each instance looks for registrations due (0 disables the timer; tests call runOnce). */
  @IsInt()
  @Min(0)
  @Max(86_400)
  @Describe('how often each instance looks for registrations due (`0`: never)')
  JIRA_WEBHOOK_JOB_INTERVAL_SECONDS: number = 300;

  /** Handler attempts per event before it is dead-lettered. */
  @IsInt()
  @Min(1)
  @Max(50)
  @Describe('handler attempts before an event is dead-lettered')
  JIRA_WEBHOOK_MAX_ATTEMPTS: number = 8;

  /** First retry delay of a failed event; doubles per attempt (jittered), at most one hour. */
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  @Describe('first retry delay of a failed event; doubles per attempt, jittered, at most one hour')
  JIRA_WEBHOOK_RETRY_BASE_MS: number = 2_000;

  /** A handler still running after this is treated as failed. */
  @IsInt()
  @Min(100)
  @Max(600_000)
  @Describe('a handler running longer counts as failed')
  JIRA_WEBHOOK_HANDLER_TIMEOUT_MS: number = 30_000;

  /** A claimed event whose instance died is picked up again after this. */
  @IsInt()
  @Min(500)
  @Max(3_600_000)
  @Describe('a claimed event whose process died is retried after this (must exceed `JIRA_WEBHOOK_HANDLER_TIMEOUT_MS`)')
  JIRA_WEBHOOK_LEASE_MS: number = 120_000;

  /** How often each instance polls the inbox (new deliveries are dispatched at once anyway). */
  @IsInt()
  @Min(0)
  @Max(600_000)
  @Describe('how often an idle instance looks for events it was not told about (left by a stopped instance); its own deliveries are dispatched at once, retries when due')
  JIRA_WEBHOOK_POLL_MS: number = 30_000;

  /** Largest delivery read; past it reading stops and the answer is 413. */
  @IsInt()
  @Min(16)
  @Max(16_384)
  @Describe('largest delivery read (413 above; the rest is not read)')
  JIRA_WEBHOOK_MAX_BODY_KB: number = 1_024;

  /** A delivery's JWT may be valid for at most this much longer (Jira's are valid for a few minutes). */
  @IsInt()
  @Min(60)
  @Max(86_400)
  @Describe('a delivery\'s JWT may expire at most this far ahead; longer is 401')
  JIRA_WEBHOOK_JWT_MAX_LIFETIME_SECONDS: number = 600;
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

const list = (v: string | undefined): string[] => [...new Set((v ?? '').split(',').map((s) => s.trim()).filter(Boolean))];

export function readJiraWebhookSettings(env: NodeJS.ProcessEnv = process.env): JiraWebhookSettings {
  const p = validateEnv(JiraWebhooksEnv, env);
  const events = list(p.JIRA_WEBHOOK_EVENTS);
  if (events.length > 0 && !p.JIRA_WEBHOOK_JQL) {
    throw new EnvValidationError(['JIRA_WEBHOOK_JQL is required with JIRA_WEBHOOK_EVENTS (Jira requires a filter), e.g. "project = ABC"']);
  }
  if (p.JIRA_WEBHOOK_LEASE_MS <= p.JIRA_WEBHOOK_HANDLER_TIMEOUT_MS) {
    throw new EnvValidationError(['JIRA_WEBHOOK_LEASE_MS must be longer than JIRA_WEBHOOK_HANDLER_TIMEOUT_MS']);
  }
  return {
    url: p.JIRA_WEBHOOK_URL,
    events,
    jql: p.JIRA_WEBHOOK_JQL,
    fieldIds: list(p.JIRA_WEBHOOK_FIELD_IDS),
    checkIntervalMs: p.JIRA_WEBHOOK_CHECK_HOURS * 3_600_000,
    jobIntervalMs: p.JIRA_WEBHOOK_JOB_INTERVAL_SECONDS * 1000,
    maxAttempts: p.JIRA_WEBHOOK_MAX_ATTEMPTS,
    retryBaseMs: p.JIRA_WEBHOOK_RETRY_BASE_MS,
    handlerTimeoutMs: p.JIRA_WEBHOOK_HANDLER_TIMEOUT_MS,
    leaseMs: p.JIRA_WEBHOOK_LEASE_MS,
    pollMs: p.JIRA_WEBHOOK_POLL_MS,
    maxBodyBytes: p.JIRA_WEBHOOK_MAX_BODY_KB * 1024,
    jwtMaxLifetimeSeconds: p.JIRA_WEBHOOK_JWT_MAX_LIFETIME_SECONDS,
  };
}

export const jiraWebhooksConfig = registerAs('jiraWebhooks', () => readJiraWebhookSettings());
