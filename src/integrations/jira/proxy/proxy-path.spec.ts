import { describe, expect, it } from 'vitest';
import { checkedQuery, parseJiraPath } from './proxy-path.js';

describe('parseJiraPath', () => {
  it.each([
    ['/rest/api/3/myself', '/rest/api/3/myself'],
    ['/rest/api/3/issue/PROJ-1', '/rest/api/3/issue/PROJ-1'],
    ['/rest/api/3/user/properties/x:y@z', '/rest/api/3/user/properties/x:y@z'],
    ['/rest/api/3/issue/%50ROJ-1', '/rest/api/3/issue/PROJ-1'],
    ['/rest/api/3/project/%C3%A9t%C3%A9', '/rest/api/3/project/%C3%A9t%C3%A9'],
    ['/rest/agile/1.0/board/7/sprint', '/rest/agile/1.0/board/7/sprint'],
    // A generated client encodes the path parameter's slashes.
    ['/rest%2Fapi%2F3%2Fmyself', '/rest/api/3/myself'],
  ])('accepts %s as %s', (raw, path) => {
    expect(parseJiraPath(raw)).toEqual({ ok: true, segments: expect.any(Array), path });
  });

  it.each([
    ['dot-dot', '/rest/api/3/../../oauth/token'],
    ['dot', '/rest/./api/3/myself'],
    ['encoded dot-dot', '/rest/api/3/%2e%2e/%2E%2E/x'],
    ['half-encoded dot-dot', '/rest/api/3/.%2e/x'],
    ['double-encoded dot-dot', '/rest/api/3/%252e%252e/x'],
    ['double-encoded slash', '/rest/api/3/a%252fb'],
    ['encoded slash', '/rest/api/3/..%2f..%2foauth'],
    ['backslash', '/rest/api/3\\..\\x'],
    ['encoded backslash', '/rest/api/3/%5c..%5cx'],
    ['empty segment', '/rest/api/3//myself'],
    ['trailing slash', '/rest/api/3/myself/'],
    ['protocol-relative', '//evil.example/rest/api/3/myself'],
    ['absolute URL', '/https://evil.example/rest/api/3/myself'],
    ['encoded absolute URL', '/https:%2f%2fevil.example%2frest'],
    ['outside /rest/', '/oauth/token'],
    ['another cloud id', '/ex/jira/other-cloud/rest/api/3/myself'],
    ['bare /rest', '/rest'],
    ['encoded query', '/rest/api/3/myself%3fx=1'],
    ['encoded fragment', '/rest/api/3/myself%23x'],
    ['encoded NUL', '/rest/api/3/my%00self'],
    ['encoded space', '/rest/api/3/my%20self'],
    ['bad UTF-8', '/rest/api/3/%ff'],
    ['no leading slash', 'rest/api/3/myself'],
  ])('refuses %s', (_name, raw) => {
    const result = parseJiraPath(raw);
    expect(result.ok).toBe(false);
  });
});

describe('checkedQuery', () => {
  it.each([
    ['jql=project%20%3D%20X&maxResults=5', 'jql=project%20%3D%20X&maxResults=5'],
    ['', ''],
    ['a=b#c', null],
    ['a=b c', null],
  ])('%s → %s', (raw, expected) => {
    expect(checkedQuery(raw)).toBe(expected);
  });
});
