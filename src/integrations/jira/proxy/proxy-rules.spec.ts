import { describe, expect, it } from 'vitest';
import type { TeamRole } from '../teams/team-role.js';
import { DEFAULT_ADMIN_PROXY_RULES, DEFAULT_SPA_PROXY_RULES, matchProxyRule, parseProxyRules, ProxyRuleError } from './proxy-rules.js';

const segs = (path: string): string[] => path.slice(1).split('/');

describe('parseProxyRules', () => {
  it('reads the defaults', () => {
    expect(parseProxyRules(DEFAULT_SPA_PROXY_RULES).map((r) => [r.methods, r.prefix, r.minRole])).toEqual([
      [['GET'], ['rest', 'api', '3'], null],
      [['GET'], ['rest', 'agile', '1.0'], null],
    ]);
    expect(parseProxyRules(DEFAULT_ADMIN_PROXY_RULES)[0].methods).toEqual(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
  });

  it('takes commas or new lines, a role, lower-case methods, and skips blanks and # comments', () => {
    const rules = parseProxyRules('get /rest/api/3/**\n# writes\nPOST /rest/api/3/issue/*/comment member ,\n PUT /rest/api/3/issue/* admin');
    expect(rules.map((r) => [r.methods, r.segments.join('/'), r.minRole])).toEqual([
      [['GET'], 'rest/api/3/**', null],
      [['POST'], 'rest/api/3/issue/*/comment', 'member'],
      [['PUT'], 'rest/api/3/issue/*', 'admin'],
    ]);
  });

  it('allows nothing when empty', () => {
    expect(parseProxyRules('')).toEqual([]);
  });

  it.each([
    ['GET', 'is not'],
    ['GET /rest/api/3/** admin extra', 'is not'],
    ['FETCH /rest/api/3/**', 'method "FETCH"'],
    ['HEAD /rest/api/3/**', 'method "HEAD"'],
    ['GET /oauth/token', 'must start with /rest/'],
    ['GET rest/api/3/**', 'must start with /rest/'],
    ['GET /rest/**/issue', '** before the end'],
    ['GET /rest/api//issue', 'empty path segment'],
    ['GET /rest/api/../oauth', 'segment ".."'],
    ['GET /rest/api/%2e%2e', 'segment "%2e%2e"'],
    ['GET /rest/api/3/** superuser', 'role "superuser"'],
  ])('refuses %j naming the problem', (value, message) => {
    expect(() => parseProxyRules(value, 'JIRA_PROXY_RULES')).toThrow(ProxyRuleError);
    expect(() => parseProxyRules(value, 'JIRA_PROXY_RULES')).toThrow(message);
    expect(() => parseProxyRules(value, 'JIRA_PROXY_RULES')).toThrow(/^JIRA_PROXY_RULES: /);
  });
});

describe('matchProxyRule', () => {
  const spa = parseProxyRules(`${DEFAULT_SPA_PROXY_RULES}, POST /rest/api/3/issue/*/comment, PUT /rest/api/3/issue/* admin, DELETE /rest/api/3/issue/* owner`);
  const admin = parseProxyRules(DEFAULT_ADMIN_PROXY_RULES);

  it.each<[string, string, TeamRole | null, string]>([
    ['GET', '/rest/api/3/myself', 'member', 'allowed'],
    ['GET', '/rest/api/3/search/jql', 'member', 'allowed'],
    ['GET', '/rest/agile/1.0/board', 'member', 'allowed'],
    ['POST', '/rest/api/3/issue', 'owner', 'forbidden:method'],
    ['DELETE', '/rest/api/3/myself', 'owner', 'forbidden:method'],
    ['POST', '/rest/api/3/issue/PROJ-1/comment', 'member', 'allowed'],
    ['POST', '/rest/api/3/issue/PROJ-1/comment/extra', 'member', 'forbidden:method'],
    ['PUT', '/rest/api/3/issue/PROJ-1', 'member', 'forbidden:role'],
    ['PUT', '/rest/api/3/issue/PROJ-1', 'admin', 'allowed'],
    ['PUT', '/rest/api/3/issue/PROJ-1', 'owner', 'allowed'],
    ['DELETE', '/rest/api/3/issue/PROJ-1', 'admin', 'forbidden:role'],
    ['GET', '/rest/api/2/myself', 'owner', 'outside'],
    ['GET', '/rest/servicedeskapi/request', 'owner', 'outside'],
    ['GET', '/rest/agile/1.0', 'member', 'allowed'],
  ])('SPA %s %s as %s → %s', (method, path, role, expected) => {
    const v = matchProxyRule(spa, method, segs(path), role);
    expect(v.kind === 'forbidden' ? `forbidden:${v.reason}` : v.kind).toBe(expected);
  });

  it('names the least role a refused caller needs', () => {
    expect(matchProxyRule(spa, 'PUT', segs('/rest/api/3/issue/X-1'), 'member')).toEqual({ kind: 'forbidden', reason: 'role', minRole: 'admin' });
  });

  it.each([
    ['DELETE', '/rest/api/3/issue/X-1', 'allowed'],
    ['POST', '/rest/servicedeskapi/request', 'allowed'],
    ['PATCH', '/rest/api/3/x', 'allowed'],
  ])('admin %s %s → %s (no team role involved)', (method, path, expected) => {
    expect(matchProxyRule(admin, method, segs(path), null).kind).toBe(expected);
  });

  it('allows nothing without rules', () => {
    expect(matchProxyRule([], 'GET', segs('/rest/api/3/myself'), 'owner').kind).toBe('outside');
  });
});
