import { registerAs } from '@nestjs/config';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import {
  DEFAULT_ADMIN_PROXY_RULES, DEFAULT_SPA_PROXY_RULES, parseProxyRules, ProxyRuleError, type ProxyRule,
} from '../proxy/proxy-rules.js';
import { EnvValidationError, validateEnv } from './validate-env.js';
import { Describe } from './describe.js';

/** The Jira proxies (docs/proxy.md): what each may reach and how big bodies may be. */
export class JiraProxyEnv {
  /** What the SPA may call: `METHOD /rest/pattern [role]` entries, comma- or newline-separated. */
  @IsOptional()
  @IsString()
  @Describe('what the SPA\'s Jira proxy may call: `METHOD /rest/pattern [role]` entries, comma- or newline-separated (see [proxy.md](proxy.md))', { default: `\`${DEFAULT_SPA_PROXY_RULES}\`` })
  JIRA_PROXY_RULES?: string;

  /** What the product's backend may call through /api/admin/teams/{teamId}/jira/... */
  @IsOptional()
  @IsString()
  @Describe('what the product\'s backend may call through `/api/admin/teams/{teamId}/jira/…`', { default: `\`${DEFAULT_ADMIN_PROXY_RULES}\`` })
  JIRA_ADMIN_PROXY_RULES?: string;

  /** Largest request body passed to Jira (413 payload_too_large above it). */
  @IsInt()
  @Min(1)
  @Max(100 * 1024)
  @Describe('largest request body passed to Jira (413 `payload_too_large` above it)')
  JIRA_PROXY_MAX_REQUEST_KB: number = 1024;

  /** Largest answer passed back (502 jira_response_too_large when Jira announces more; cut off past it). */
  @IsInt()
  @Min(1)
  @Max(1024 * 1024)
  @Describe('largest answer passed back (502 `jira_response_too_large` when Jira announces more; cut off past it)')
  JIRA_PROXY_MAX_RESPONSE_KB: number = 10 * 1024;
}

export interface JiraProxySettings {
  spaRules: ProxyRule[];
  adminRules: ProxyRule[];
  maxRequestBytes: number;
  maxResponseBytes: number;
}

/** Rules as read at start-up: a bad entry stops it with the variable, the entry and the syntax. */
export function readProxyRules(value: string | undefined, fallback: string, variable: string): ProxyRule[] {
  try {
    return parseProxyRules(value ?? fallback, variable);
  } catch (err) {
    if (err instanceof ProxyRuleError) throw new EnvValidationError([err.message]);
    throw err;
  }
}

export function readJiraProxySettings(env: NodeJS.ProcessEnv = process.env): JiraProxySettings {
  const parsed = validateEnv(JiraProxyEnv, env);
  return {
    spaRules: readProxyRules(parsed.JIRA_PROXY_RULES, DEFAULT_SPA_PROXY_RULES, 'JIRA_PROXY_RULES'),
    adminRules: readProxyRules(parsed.JIRA_ADMIN_PROXY_RULES, DEFAULT_ADMIN_PROXY_RULES, 'JIRA_ADMIN_PROXY_RULES'),
    maxRequestBytes: parsed.JIRA_PROXY_MAX_REQUEST_KB * 1024,
    maxResponseBytes: parsed.JIRA_PROXY_MAX_RESPONSE_KB * 1024,
  };
}

export const jiraProxyConfig = registerAs('jiraProxy', () => readJiraProxySettings());
