import { describe, expect, it } from 'vitest';
import { editDistance, formatUnknownVariables, knownVariableNames, unknownVariables } from './unknown-variables.js';

const known = new Set(['JIRA_CLIENT_ID', 'JIRA_CLIENT_SECRET', 'JIRA_REDIRECT_URI', 'NOTIFY_WEBHOOK_URL', 'DATABASE_URL', 'PORT']);

describe('unknownVariables', () => {
  it.each([
    // [variables set, what is reported]
    [['JIRA_CLIENT_ID', 'PORT', 'PATH', 'HOME'], []],
    [['JIRA_CLIENTID'], [{ name: 'JIRA_CLIENTID', suggestion: 'JIRA_CLIENT_ID' }]],
    [['jira_client_id'], [{ name: 'jira_client_id', suggestion: 'JIRA_CLIENT_ID' }]],
    [['JIRA_CLIENT_SECERT'], [{ name: 'JIRA_CLIENT_SECERT', suggestion: 'JIRA_CLIENT_SECRET' }]],
    [['NOTIFY_WEBHOOK_URLL'], [{ name: 'NOTIFY_WEBHOOK_URLL', suggestion: 'NOTIFY_WEBHOOK_URL' }]],
    [['DATABSE_URL'], []], // not one of our prefixes: not ours to judge
    [['JIRA_SOMETHING_ELSE_ENTIRELY'], [{ name: 'JIRA_SOMETHING_ELSE_ENTIRELY' }]],
    [['REDIS_HOST'], [{ name: 'REDIS_HOST' }]],
    [['JIRA_B', 'JIRA_A'], [{ name: 'JIRA_A' }, { name: 'JIRA_B' }]],
  ] as [string[], unknown[]][])('%j → %j', (names, expected) => {
    expect(unknownVariables(names, known)).toEqual(expected);
  });

  it('knows every variable of docs/configuration.md, and nothing of the environment outside them', () => {
    const names = knownVariableNames();
    for (const v of ['JIRA_CLIENT_ID', 'NOTIFY_POLL_INTERVAL_MS', 'DATABASE_CONNECT_TIMEOUT_MS', 'ADMIN_API_KEYS', 'TEAM_ACCESS_URL', 'OAUTH_RETURN_ORIGINS']) {
      expect(names.has(v), v).toBe(true);
    }
    expect(unknownVariables([...names], names)).toEqual([]);
  });

  it('edit distance', () => {
    expect(editDistance('JIRA_CLIENTID', 'JIRA_CLIENT_ID')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('names the variable, never its value', () => {
    expect(formatUnknownVariables([{ name: 'JIRA_CLIENTID', suggestion: 'JIRA_CLIENT_ID' }, { name: 'REDIS_HOST' }])).toEqual([
      'jira-connect: JIRA_CLIENTID is not a variable jira-connect reads (ignored): did you mean JIRA_CLIENT_ID?',
      'jira-connect: REDIS_HOST is not a variable jira-connect reads (ignored); every variable is listed in docs/configuration.md',
    ]);
  });
});
