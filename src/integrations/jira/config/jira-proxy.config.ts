import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import {
  DEFAULT_ADMIN_PROXY_RULES, DEFAULT_SPA_PROXY_RULES, parseProxyRules, ProxyRuleError, type ProxyRule,
} from '../proxy/proxy-rules.js';
import { Env, type Namer } from './option-schema.js';
import { Describe } from './describe.js';

/** `proxy`: the Jira proxies (docs/proxy.md): what each may reach and how big bodies may be. */
export class ProxyOptions {
  /** What the SPA may call: `METHOD /rest/pattern [role]` entries, comma- or newline-separated. */
  @Env('JIRA_PROXY_RULES')
  @IsOptional()
  @IsString()
  @Describe('what the SPA\'s Jira proxy may call: `METHOD /rest/pattern [role]` entries, comma- or newline-separated (see [proxy.md](proxy.md))', { default: `\`${DEFAULT_SPA_PROXY_RULES}\`` })
  rules?: string;

  /** What the product's backend may call through /api/admin/teams/{teamId}/jira/... */
  @Env('JIRA_ADMIN_PROXY_RULES')
  @IsOptional()
  @IsString()
  @Describe('what the product\'s backend may call through `/api/admin/teams/{teamId}/jira/…`', { default: `\`${DEFAULT_ADMIN_PROXY_RULES}\`` })
  adminRules?: string;

  /** Largest request body passed to Jira (413 payload_too_large above it). */
  @Env('JIRA_PROXY_MAX_REQUEST_KB')
  @IsInt()
  @Min(1)
  @Max(100 * 1024)
  @Describe('largest request body passed to Jira (413 `payload_too_large` above it)')
  maxRequestKb: number = 1024;

  /** Largest answer passed back (502 jira_response_too_large when Jira announces more; cut off past it). */
  @Env('JIRA_PROXY_MAX_RESPONSE_KB')
  @IsInt()
  @Min(1)
  @Max(1024 * 1024)
  @Describe('largest answer passed back (502 `jira_response_too_large` when Jira announces more; cut off past it)')
  maxResponseKb: number = 10 * 1024;
}

export interface JiraProxySettings {
  spaRules: ProxyRule[];
  adminRules: ProxyRule[];
  maxRequestBytes: number;
  maxResponseBytes: number;
}

/** Rules as read at start-up: a bad entry is a problem naming the setting, the entry and the syntax. */
function readProxyRules(value: string | undefined, fallback: string, named: string, problems: string[]): ProxyRule[] {
  try {
    return parseProxyRules(value ?? fallback, named);
  } catch (err) {
    if (!(err instanceof ProxyRuleError)) throw err;
    problems.push(err.message);
    return [];
  }
}

export function resolveProxySettings(p: ProxyOptions, name: Namer, problems: string[]): JiraProxySettings {
  return {
    spaRules: readProxyRules(p.rules, DEFAULT_SPA_PROXY_RULES, name('proxy', 'rules'), problems),
    adminRules: readProxyRules(p.adminRules, DEFAULT_ADMIN_PROXY_RULES, name('proxy', 'adminRules'), problems),
    maxRequestBytes: p.maxRequestKb * 1024,
    maxResponseBytes: p.maxResponseKb * 1024,
  };
}
