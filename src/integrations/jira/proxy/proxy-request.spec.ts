import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ADMIN_PROXY_MARKER, isJiraProxyRequest, rawPathAfter } from './proxy-request.js';

describe('rawPathAfter', () => {
  it.each<[string, string | RegExp, string]>([
    ['/api/integrations/jira/proxy/rest/api/3/myself?x=1', '/api/integrations/jira/proxy', '/rest/api/3/myself'],
    ['/api/integrations/jira/proxy/rest/api/3/%2e%2e/x', '/api/integrations/jira/proxy', '/rest/api/3/%2e%2e/x'],
    ['/prefix/jira/proxy/rest/x', '/jira/proxy', '/rest/x'],
    // The first occurrence is the route's own prefix; a repeated one stays part of the Jira path (and is refused there).
    ['/api/integrations/jira/proxy/api/integrations/jira/proxy/rest', '/api/integrations/jira/proxy', '/api/integrations/jira/proxy/rest'],
    ['/api/admin/teams/org_1/jira/rest/api/3/myself?q', ADMIN_PROXY_MARKER, '/rest/api/3/myself'],
    ['/api/admin/teams/org_1/jira//rest', ADMIN_PROXY_MARKER, '//rest'],
    ['/elsewhere', '/api/integrations/jira/proxy', ''],
  ])('%s after %s → %s', (url, marker, expected) => {
    expect(rawPathAfter(url, marker)).toBe(expected);
  });
});

describe('isJiraProxyRequest', () => {
  it.each([
    ['/api/integrations/jira/proxy/rest/api/3/issue', true],
    ['/api/admin/teams/t1/jira/rest/api/3/issue', true],
    ['/api/integrations/jira/oauth/authorize', false],
    ['/api/admin/teams/t1/members/u1', false],
    ['/api/integrations/jira/proxyx/rest', false],
  ])('%s → %s', (url, expected) => {
    expect(isJiraProxyRequest({ url } as IncomingMessage)).toBe(expected);
  });
});
