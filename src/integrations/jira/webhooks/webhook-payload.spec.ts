import { describe, expect, it } from 'vitest';
import { payloadSite, storableJson, storableText } from './webhook-payload.js';

const GATEWAY = 'https://api.atlassian.com';
const SITE = 'https://acme.atlassian.net';

describe('payloadSite: every self link must name one site', () => {
  const issue = (self: unknown) => ({ webhookEvent: 'jira:issue_updated', issue: { self } });
  it.each([
    ['a site link', issue(`${SITE}/rest/api/2/issue/1`), { origin: SITE, cloudId: null }],
    ['a gateway link', issue(`${GATEWAY}/ex/jira/c-1/rest/api/2/issue/1`), { origin: null, cloudId: 'c-1' }],
    ['the site and its gateway path', { issue: { self: `${SITE}/rest/api/2/issue/1` }, user: { self: `${GATEWAY}/ex/jira/c-1/rest/api/2/user` } },
      { origin: SITE, cloudId: 'c-1' }],
    ['host case does not matter', issue('https://ACME.atlassian.net/rest/api/2/issue/1'), { origin: SITE, cloudId: null }],
    ['nested links of one site', { issue: { self: `${SITE}/i/1`, fields: { project: { self: `${SITE}/p/1` }, labels: [{ self: `${SITE}/l` }] } } },
      { origin: SITE, cloudId: null }],
    ['a gateway path on another host', issue(`https://evil.example/ex/jira/c-1/rest/api/2/issue/1`), { origin: 'https://evil.example', cloudId: null }],
  ])('%s', (_name, payload, site) => {
    expect(payloadSite(payload as Record<string, unknown>, GATEWAY)).toEqual(site);
  });

  it.each([
    ['no link', { webhookEvent: 'x' }],
    ['two sites', { issue: { self: `${SITE}/i/1` }, user: { self: 'https://other.atlassian.net/u/1' } }],
    ['two cloud ids', { issue: { self: `${GATEWAY}/ex/jira/c-1/i` }, user: { self: `${GATEWAY}/ex/jira/c-2/u` } }],
    ['a nested link elsewhere', { issue: { self: `${SITE}/i/1`, fields: { assignee: { self: 'https://evil.example/u' } } } }],
    ['the gateway without /ex/jira/', issue(`${GATEWAY}/rest/api/2/issue/1`)],
    ['not a URL', issue('not a url')],
    ['not a string', issue(42)],
    ['another scheme', issue('ftp://acme.atlassian.net/x')],
  ])('nobody\'s: %s', (_name, payload) => {
    expect(payloadSite(payload as Record<string, unknown>, GATEWAY)).toBeNull();
  });
});

describe('storableJson: what jsonb cannot hold becomes U+FFFD', () => {
  it.each([
    ['plain text', 'abc', 'abc'],
    ['NUL', 'a\u0000b', 'a\uFFFDb'],
    ['a lone high surrogate', 'x\ud800', 'x\uFFFD'],
    ['a lone low surrogate', '\udc00x', '\uFFFDx'],
    ['a whole pair stays', '\ud83d\ude00', '\ud83d\ude00'],
    ['a reversed pair', '\ude00\ud83d', '\uFFFD\uFFFD'],
  ])('%s', (_name, input, output) => {
    expect(storableText(input)).toBe(output);
  });

  it('walks arrays, objects and keys, says whether anything changed, and keeps "__proto__" a key', () => {
    const untouched = { a: [1, 'x', null, true, { b: 'y' }] };
    expect(storableJson(untouched)).toEqual({ value: untouched, changed: false });
    const parsed = JSON.parse('{"k\\u0000":["\\ud800",{"__proto__":"\\u0000"}],"n":1}') as unknown;
    const { value, changed } = storableJson(parsed);
    expect(changed).toBe(true);
    expect(JSON.stringify(value)).toBe('{"k\uFFFD":["\uFFFD",{"__proto__":"\uFFFD"}],"n":1}');
    expect(storableJson(Infinity)).toEqual({ value: null, changed: true });
  });
});
