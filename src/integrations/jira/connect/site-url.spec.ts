import { describe, expect, it } from 'vitest';
import { JiraError } from '../jira.errors.js';
import { normalizeSiteUrl, tryNormalizeSiteUrl } from './site-url.js';

describe('normalizeSiteUrl', () => {
  it.each([
    ['acme', 'https://acme.atlassian.net'],
    ['ACME', 'https://acme.atlassian.net'],
    ['acme.atlassian.net', 'https://acme.atlassian.net'],
    ['  Acme.Atlassian.NET  ', 'https://acme.atlassian.net'],
    ['https://acme.atlassian.net', 'https://acme.atlassian.net'],
    ['https://acme.atlassian.net/', 'https://acme.atlassian.net'],
    ['http://acme.atlassian.net', 'https://acme.atlassian.net'],
    ['https://acme.atlassian.net/jira/software/projects?x=1#frag', 'https://acme.atlassian.net'],
    ['https://acme.atlassian.net./', 'https://acme.atlassian.net'],
    ['my-team-2.atlassian.net', 'https://my-team-2.atlassian.net'],
    ['legacy.jira.com', 'https://legacy.jira.com'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeSiteUrl(input)).toBe(expected);
  });

  it.each([
    '',
    '   ',
    'https://evil.com',
    'https://acme.atlassian.net.evil.com',
    'https://evil.com/acme.atlassian.net',
    'https://user:pass@acme.atlassian.net',
    'https://acme.atlassian.net:8443',
    'ftp://acme.atlassian.net',
    'javascript:alert(1)',
    'https://a.b.atlassian.net',
    'https://atlassian.net',
    '-acme',
    'acme_corp',
    'https://acme.atlassian.com',
  ])('rejects %j with invalid_site_url', (input) => {
    let thrown: unknown;
    try {
      normalizeSiteUrl(input);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(JiraError);
    expect((thrown as JiraError).code).toBe('invalid_site_url');
    expect(tryNormalizeSiteUrl(input)).toBeNull();
  });
});
