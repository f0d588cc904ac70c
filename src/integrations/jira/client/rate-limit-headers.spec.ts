import { describe, expect, it } from 'vitest';
import { endpointFamily, readRateLimitHeaders, scopeOfReason, writtenIssue } from './rate-limit-headers.js';

describe('readRateLimitHeaders', () => {
  const now = Date.parse('2026-03-26T16:25:28Z');

  it('reads the quota (Beta-RateLimit[-Policy]), the burst budget and the near-limit flag of a 200', () => {
    const r = readRateLimitHeaders(200, {
      'beta-ratelimit-policy': '"tenant-app-quota";q=100100;w=3600, "global-app-quota";q=65000;w=3600',
      'beta-ratelimit': '"tenant-app-quota";r=17842;t=2107, "global-app-quota";r=900;t=60',
      'x-beta-ratelimit-nearlimit': 'true',
      'x-ratelimit-limit': '350',
      'x-ratelimit-remaining': '349',
    }, now);
    expect(r).toMatchObject({ status: 200, limit: 350, remaining: 349, nearLimit: true });
    expect(r.quotas).toEqual([
      { policy: 'tenant-app-quota', scope: 'tenant', remaining: 17842, quota: 100100, resetAtMs: now + 2107_000 },
      { policy: 'global-app-quota', scope: 'app', remaining: 900, quota: 65000, resetAtMs: now + 60_000 },
    ]);
  });

  it('reads a 429: reason, Retry-After (seconds) and X-RateLimit-Reset (ISO 8601, minute precision)', () => {
    const r = readRateLimitHeaders(429, { 'retry-after': '30', 'x-ratelimit-reset': '2026-03-26T16:26Z', 'ratelimit-reason': 'jira-burst-based' }, now);
    expect(r).toMatchObject({ reason: 'jira-burst-based', retryAfterMs: 30_000, resetAtMs: Date.parse('2026-03-26T16:26:00Z'), nearLimit: false, quotas: [] });
  });

  it('ignores garbage values', () => {
    const r = readRateLimitHeaders(200, { 'x-ratelimit-remaining': 'lots', 'x-ratelimit-reset': 'soon', 'beta-ratelimit': ';;,"x";r=-1' }, now);
    expect(r).toMatchObject({ remaining: undefined, resetAtMs: undefined });
    expect(r.quotas).toEqual([{ policy: 'x', scope: 'tenant', remaining: undefined, quota: undefined, resetAtMs: undefined }]);
  });
});

describe('scopes', () => {
  it('maps reasons to the scope they limit', () => {
    expect(scopeOfReason('jira-burst-based')).toBe('burst');
    expect(scopeOfReason('jira-per-issue-on-write')).toBe('issue');
    expect(scopeOfReason('jira-quota-global-based')).toBe('app');
    expect(scopeOfReason('jira-quota-tenant-based')).toBe('tenant');
    expect(scopeOfReason(undefined)).toBe('tenant');
  });

  it('groups paths into endpoint families and finds the issue a write targets', () => {
    expect(endpointFamily('get', '/rest/api/3/issue/ABC-12/comment/10001?expand=x')).toBe('GET /rest/api/3/issue/{id}/comment/{id}');
    expect(endpointFamily('GET', '/rest/api/3/myself')).toBe('GET /rest/api/3/myself');
    expect(writtenIssue('PUT', '/rest/api/3/issue/ABC-12')).toBe('ABC-12');
    expect(writtenIssue('POST', '/rest/api/2/issue/10001/comment')).toBe('10001');
    expect(writtenIssue('GET', '/rest/api/3/issue/ABC-12')).toBeUndefined();
    expect(writtenIssue('POST', '/rest/api/3/search/jql')).toBeUndefined();
  });
});
