import { parseRetryAfter } from '../atlassian/atlassian.gateway.js';

/*
 * What Atlassian says about its limits on a Jira REST response. Names and meanings follow
 * developer.atlassian.com/cloud/jira/platform/rate-limiting (2026): three independent limits
 * (hourly points quota per tenant and per app, per-second burst per tenant+endpoint+method,
 * per-issue writes), `RateLimit-Reason` on a 429 naming which one, `Retry-After` in seconds,
 * `X-RateLimit-Reset` as an ISO 8601 timestamp, `X-RateLimit-NearLimit: true` when less than 20 %
 * of any budget remains, and the quota as structured fields:
 *   Beta-RateLimit-Policy: "tenant-app-quota";q=100100;w=3600
 *   Beta-RateLimit: "tenant-app-quota";r=17842;t=2107      (r: points left, t: seconds to reset)
 * The `Beta-`/`X-Beta-` names (shadow headers) and the unprefixed ones are both read.
 */

export type RateLimitScope = 'app' | 'tenant' | 'burst' | 'issue';

/** One quota policy (points per window) as reported by `(Beta-)RateLimit[-Policy]`. */
export interface QuotaReading {
  policy: string;
  /** `app` for the global pool shared by all tenants, `tenant` for this site's quota. */
  scope: 'app' | 'tenant';
  remaining?: number;
  quota?: number;
  resetAtMs?: number;
}

export interface RateLimitReading {
  status: number;
  reason?: string;
  retryAfterMs?: number;
  resetAtMs?: number;
  /** `X-RateLimit-Limit` / `-Remaining`: the request-rate (burst) budget. */
  limit?: number;
  remaining?: number;
  nearLimit: boolean;
  quotas: QuotaReading[];
}

const header = (h: Record<string, string>, ...names: string[]): string | undefined => {
  for (const n of names) if (h[n] !== undefined && h[n] !== '') return h[n];
  return undefined;
};

const num = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

/** `"name";k=v;k=v, "other";k=v` (RFC 8941 list of items with parameters) → name → params. */
export function parseStructuredList(value: string | undefined): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const item of (value ?? '').split(',')) {
    const [rawName, ...params] = item.split(';').map((p) => p.trim());
    const name = rawName?.replace(/^"|"$/g, '');
    if (!name) continue;
    const fields: Record<string, number> = {};
    for (const p of params) {
      const [k, v] = p.split('=');
      const n = num(v);
      if (k && n !== undefined) fields[k.trim()] = n;
    }
    out.set(name, fields);
  }
  return out;
}

/** Policies named after the global pool (e.g. `global-app-quota`) are app-wide; others are the tenant's. */
const scopeOfPolicy = (name: string): 'app' | 'tenant' => (/global/i.test(name) ? 'app' : 'tenant');

/** Which scope a 429's `RateLimit-Reason` names; unknown reasons are treated as the tenant's quota. */
export function scopeOfReason(reason: string | undefined): RateLimitScope {
  if (reason === 'jira-burst-based') return 'burst';
  if (reason === 'jira-per-issue-on-write') return 'issue';
  if (reason && /global/i.test(reason)) return 'app';
  return 'tenant';
}

export function readRateLimitHeaders(status: number, h: Record<string, string>, nowMs: number): RateLimitReading {
  const retryAfterS = parseRetryAfter(header(h, 'retry-after', 'beta-retry-after'), nowMs);
  const resetRaw = header(h, 'x-ratelimit-reset', 'x-beta-ratelimit-reset');
  const resetAt = resetRaw ? Date.parse(resetRaw) : NaN;
  const policies = parseStructuredList(header(h, 'ratelimit-policy', 'beta-ratelimit-policy'));
  const current = parseStructuredList(header(h, 'ratelimit', 'beta-ratelimit'));
  const quotas: QuotaReading[] = [];
  for (const name of new Set([...policies.keys(), ...current.keys()])) {
    const p = policies.get(name) ?? {};
    const c = current.get(name) ?? {};
    quotas.push({
      policy: name,
      scope: scopeOfPolicy(name),
      remaining: c.r,
      quota: p.q,
      resetAtMs: c.t !== undefined ? nowMs + c.t * 1000 : undefined,
    });
  }
  return {
    status,
    reason: header(h, 'ratelimit-reason', 'x-ratelimit-reason', 'x-beta-ratelimit-reason'),
    retryAfterMs: retryAfterS !== undefined ? retryAfterS * 1000 : undefined,
    resetAtMs: Number.isNaN(resetAt) ? undefined : resetAt,
    limit: num(header(h, 'x-ratelimit-limit')),
    remaining: num(header(h, 'x-ratelimit-remaining')),
    nearLimit: /^true$/i.test(header(h, 'x-ratelimit-nearlimit', 'x-beta-ratelimit-nearlimit') ?? ''),
    quotas,
  };
}

/** The endpoint family of a path: ids and issue keys replaced, so `/issue/ABC-1` and `/issue/ABC-2` share a burst scope. */
export function endpointFamily(method: string, path: string): string {
  const clean = path.split('?')[0].replace(/\/+$/, '');
  const generic = clean
    .split('/')
    // The API version (`/rest/api/3`) stays; numeric ids, issue keys and UUIDs become `{id}`.
    .map((seg, i, all) => (all[i - 1] !== 'api' && (/^\d+$/.test(seg) || /^[A-Z][A-Z0-9_]+-\d+$/.test(seg) || /^[0-9a-f-]{20,}$/i.test(seg)) ? '{id}' : seg))
    .join('/');
  return `${method.toUpperCase()} ${generic}`;
}

/** The issue a write targets (`/rest/api/{2|3}/issue/{idOrKey}/...`), for per-issue write limits. */
export function writtenIssue(method: string, path: string): string | undefined {
  if (method.toUpperCase() === 'GET' || method.toUpperCase() === 'HEAD') return undefined;
  return /^\/rest\/api\/(?:2|3|latest)\/issue\/([^/?]+)/.exec(path)?.[1];
}
