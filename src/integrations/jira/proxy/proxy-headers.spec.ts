import { describe, expect, it } from 'vitest';
import { forwardedRequestHeaders, returnedResponseHeaders } from './proxy-headers.js';

describe('forwardedRequestHeaders', () => {
  it('passes only the allowlist, whatever the case', () => {
    expect(forwardedRequestHeaders({
      authorization: 'Bearer spa-token',
      cookie: 'session=1',
      'x-team-id': 't1',
      'x-forwarded-for': '1.2.3.4',
      'x-forwarded-host': 'evil.example',
      forwarded: 'for=1.2.3.4',
      host: 'jira-connect.example',
      origin: 'https://app.example',
      'proxy-authorization': 'Basic x',
      'Content-Type': 'application/json',
      accept: 'application/json',
      'accept-language': 'fr',
      'X-Atlassian-Token': 'no-check',
      'accept-encoding': 'gzip',
    })).toEqual({ 'content-type': 'application/json', accept: 'application/json', 'accept-language': 'fr', 'x-atlassian-token': 'no-check', 'accept-encoding': 'gzip' });
  });

  it('asks for an identity body when the caller states no encoding', () => {
    expect(forwardedRequestHeaders({ accept: 'application/json' })).toEqual({ accept: 'application/json', 'accept-encoding': 'identity' });
  });
});

describe('returnedResponseHeaders', () => {
  it('keeps the body\'s, caching and rate-limit headers; drops hop-by-hop, cookies and the rest', () => {
    expect(returnedResponseHeaders({
      'content-type': 'application/json;charset=UTF-8',
      'content-length': '12',
      etag: '"abc"',
      'retry-after': '30',
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '2026-01-01T00:00:00Z',
      'ratelimit-reason': 'jira-quota-tenant-based',
      'x-ratelimit-nearlimit': 'true',
      'beta-retry-after': '5',
      'x-arequestid': 'req-1',
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      te: 'trailers',
      trailer: 'x',
      upgrade: 'h2c',
      'proxy-authenticate': 'Basic',
      'set-cookie': 'atlassian.xsrf.token=abc',
      'x-jira-connect-problem': '1',
      'strict-transport-security': 'max-age=1',
      server: 'AtlassianEdge',
    })).toEqual({
      'content-type': 'application/json;charset=UTF-8',
      'content-length': '12',
      etag: '"abc"',
      'retry-after': '30',
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '2026-01-01T00:00:00Z',
      'ratelimit-reason': 'jira-quota-tenant-based',
      'x-ratelimit-nearlimit': 'true',
      'beta-retry-after': '5',
      'x-arequestid': 'req-1',
    });
  });
});
