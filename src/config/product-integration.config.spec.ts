import { describe, expect, it } from 'vitest';
import { readAdminSettings } from './admin.config.js';
import { readJiraModuleSettings } from './jira-options.js';
import { parseRoleMap, readTeamAccessSettings } from './team-access.config.js';

const readNotifySettings = (env: NodeJS.ProcessEnv) => readJiraModuleSettings(env).notify;

describe('config for plugging into a product (issue 9)', () => {
  it('team access: table by default; http needs a URL with both placeholders; the role map targets our roles', () => {
    expect(readTeamAccessSettings({}).policy).toBe('table');
    expect(() => readTeamAccessSettings({ TEAM_ACCESS_POLICY: 'ldap' })).toThrow(/TEAM_ACCESS_POLICY/);
    expect(() => readTeamAccessSettings({ TEAM_ACCESS_POLICY: 'http' })).toThrow(/TEAM_ACCESS_URL/);
    expect(() => readTeamAccessSettings({ TEAM_ACCESS_POLICY: 'http', TEAM_ACCESS_URL: 'https://p.example/t/{teamId}' })).toThrow(/\{userId\}/);
    const http = readTeamAccessSettings({ TEAM_ACCESS_POLICY: 'http', TEAM_ACCESS_URL: 'https://p.example/t/{teamId}/u/{userId}', TEAM_ACCESS_CACHE_SECONDS: '0' });
    expect(http).toMatchObject({ policy: 'http', cacheMs: 0, timeoutMs: 3000 });
    expect([...parseRoleMap('org:admin=admin, org:member = member,a=b=owner')]).toEqual([['org:admin', 'admin'], ['org:member', 'member'], ['a=b', 'owner']]);
    expect(() => parseRoleMap('org:admin=superuser')).toThrow(/AUTH_ROLE_MAP/);
    expect(() => parseRoleMap('=admin')).toThrow(/AUTH_ROLE_MAP/);
  });

  it('notifications: off without a URL; a URL needs a real secret; retries last at least a day', () => {
    expect(readNotifySettings({}).url).toBeUndefined();
    expect(() => readNotifySettings({ NOTIFY_WEBHOOK_URL: 'https://api.example/hooks' })).toThrow(/NOTIFY_WEBHOOK_SECRET/);
    expect(() => readNotifySettings({ NOTIFY_WEBHOOK_URL: 'https://api.example/hooks', NOTIFY_WEBHOOK_SECRET: 'short' })).toThrow(/32/);
    expect(() => readNotifySettings({ NOTIFY_RETRY_FOR_HOURS: '12' })).toThrow(/NOTIFY_RETRY_FOR_HOURS/);
    expect(readNotifySettings({}).retryForMs).toBe(72 * 3_600_000);
  });

  it('admin keys: none by default; each at least 32 characters, never echoed in the error', () => {
    expect(readAdminSettings({}).keys).toEqual([]);
    const short = 'tooShortKey123';
    expect(() => readAdminSettings({ ADMIN_API_KEYS: short })).toThrow(/entry 1/);
    try {
      readAdminSettings({ ADMIN_API_KEYS: short });
    } catch (err) {
      expect(String(err)).not.toContain(short);
    }
  });
});
