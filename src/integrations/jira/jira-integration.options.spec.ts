import { PATH_METADATA } from '@nestjs/common/constants.js';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JiraOAuthController } from './connect/jira-oauth.controller.js';
import { JiraWebhookController } from './webhooks/jira-webhook.controller.js';
import type { JiraIntegrationModuleOptions } from './jira-integration.options.js';
import { resolveModuleSettings } from './config/module-settings.js';
import { EnvValidationError } from './config/validate-env.js';
import { JiraProxyController } from './proxy/jira-proxy.controller.js';
import { mountControllers } from './module/routes.js';

const key = randomBytes(32);
const base: JiraIntegrationModuleOptions = {
  atlassian: { clientId: 'id', clientSecret: 's3cret-value', redirectUri: 'https://app.example.com/integrations/jira/oauth/callback' },
  encryption: { currentKey: key },
};

const settings = (options: object, prefix = 'integrations/jira') => resolveModuleSettings(options, prefix);
const problems = (options: object, prefix = 'integrations/jira'): string[] => {
  try {
    resolveModuleSettings(options, prefix);
  } catch (err) {
    if (err instanceof EnvValidationError) return err.problems;
    throw err;
  }
  return [];
};

describe('JiraIntegrationModule options', () => {
  it('become the settings the services read, with the documented defaults', () => {
    const s = settings({ ...base, returnOrigins: ['https://app.example.com'], defaultReturnUrl: 'https://app.example.com/settings#x', tokens: { keepAliveDays: 10, retryBudgetMs: 5 } });
    expect(s.jira.redirectUri).toBe(base.atlassian.redirectUri);
    expect(s.jira).toMatchObject({
      configured: true,
      scopes: ['read:jira-user', 'read:jira-work', 'offline_access'],
      authBaseUrl: 'https://auth.atlassian.com',
      apiBaseUrl: 'https://api.atlassian.com',
      keepAliveDays: 10,
      retryBudgetMs: 5,
      httpTimeoutMs: 10_000,
      returnOrigins: ['https://app.example.com'],
      defaultReturnUrl: 'https://app.example.com/settings',
    });
    expect(settings({ ...base, atlassian: {} }).jira.configured).toBe(false);
    expect(s.rateLimit).toEqual({ windowMs: 60_000, perUser: 20, callbackPerIp: 30, proxyPerUser: 300 });
    expect(settings({ ...base, rateLimit: { windowSeconds: 5, perUser: 2 } }).rateLimit).toMatchObject({ windowMs: 5000, perUser: 2 });
    expect(settings({ ...base, atlassianRateLimit: { quotaWindowSeconds: 60, appPointsPerHour: 3600 } }).atlassianRateLimit)
      .toMatchObject({ windowMs: 60_000, appPointsPerWindow: 60, tenantMaxShare: 0.5 });
    expect(s.production).toBe(false);
    expect(settings({ ...base, production: true }).production).toBe(true);
  });

  it('check the redirect URI against the module\'s own callback route', () => {
    expect(problems(base, 'api/integrations/jira')).toEqual([
      'JiraIntegrationModule options: atlassian.redirectUri must end in /api/integrations/jira/oauth/callback (the callback route), without a query string, '
        + 'and be registered as the callback URL in the Atlassian developer console',
    ]);
    expect(problems(base, '/integrations/jira/')).toEqual([]);
    expect(problems({ ...base, atlassian: { redirectUri: `${base.atlassian.redirectUri}?x=1` } })).toHaveLength(1);
  });

  it('report every problem at once, by option name, never by a variable the host did not use', () => {
    const found = problems({
      atlassian: { ...base.atlassian, scopes: ['read:jira-work'], httpTimeoutMs: 5, clientID: 'typo' },
      encryption: { currentKey: randomBytes(16) },
      tokens: { keepAliveDays: 120 },
      returnOrigins: ['https://app.example.com/path'],
      defaultReturnUrl: 'https://evil.example/x',
      rateLimit: { perUser: 0 },
      notifications: { webhookUrl: 'https://api.example.com/hooks' },
      webhooks: { events: ['jira:issue_created'], leaseMs: 1000, handlerTimeoutMs: 2000 },
      proxy: { rules: 'GET /oauth/token' },
      lifecycle: { reconsentNoticeDays: [30, 400] },
      retrunOrigins: [],
    });
    for (const expected of [
      /^JiraIntegrationModule options: retrunOrigins is not an option$/,
      /atlassian\.clientID is not an option/,
      /atlassian\.httpTimeoutMs must not be less than 100/,
      /atlassian\.scopes must include offline_access/,
      /encryption\.currentKey must be exactly 32 bytes/,
      /tokens\.keepAliveDays must not be greater than 80/,
      /returnOrigins entries must be bare origins/,
      /defaultReturnUrl must be on one of the origins in returnOrigins/,
      /rateLimit\.perUser must not be less than 1/,
      /notifications\.secret \(at least 32 random characters\) is required with notifications\.webhookUrl/,
      /webhooks\.jql is required with webhooks\.events/,
      /webhooks\.leaseMs must be longer than webhooks\.handlerTimeoutMs/,
      /proxy\.rules: "GET \/oauth\/token" must start with \/rest\//,
      /lifecycle\.reconsentNoticeDays must be between 1 and 364 days/,
    ]) expect(found.some((p) => expected.test(p)), `${expected} in ${JSON.stringify(found, null, 1)}`).toBe(true);
    expect(found.filter((p) => /[A-Z]{2,}_[A-Z]/.test(p))).toEqual([]);
    expect(found.every((p) => p.startsWith('JiraIntegrationModule options: '))).toBe(true);
  });

  it('check the encryption section and the sections\' shape too: a misspelt key is a problem, not an empty list', () => {
    const k = randomBytes(32);
    expect(problems({ ...base, encryption: { currentKey: k, previousKey: [k] } }))
      .toEqual(['JiraIntegrationModule options: encryption.previousKey is not an option (encryption takes currentKey, previousKeys)']);
    expect(problems({ ...base, encryption: { currentKey: k, previousKeys: k } }))
      .toEqual(['JiraIntegrationModule options: encryption.previousKeys must be a list of keys (Buffers or base64 text)']);
    expect(problems({ ...base, webhooks: 'x' })).toEqual(['JiraIntegrationModule options: webhooks must be an object']);
  });

  it('read the proxy options; bad rules name the option', () => {
    const s = settings(base).proxy;
    expect(s.spaRules.map((r) => r.source)).toEqual(['GET /rest/api/3/**', 'GET /rest/agile/1.0/**']);
    expect(s.adminRules.map((r) => r.source)).toEqual(['* /rest/**']);
    expect(s).toMatchObject({ maxRequestBytes: 1024 * 1024, maxResponseBytes: 10 * 1024 * 1024 });
    expect(settings({ ...base, proxy: { rules: 'POST /rest/api/3/issue admin', maxRequestKb: 2 } }).proxy).toMatchObject({
      spaRules: [{ methods: ['POST'], minRole: 'admin' }], maxRequestBytes: 2048,
    });
  });

  it('take keys as Buffers or base64 and refuse anything but 32 bytes', () => {
    const previous = randomBytes(32);
    const s = settings({ ...base, encryption: { currentKey: key.toString('base64'), previousKeys: [previous] } }).encryption;
    expect(s.currentKey.equals(key)).toBe(true);
    expect(s.previousKeys[0].equals(previous)).toBe(true);
    expect(problems({ ...base, encryption: { currentKey: randomBytes(16) } })).toEqual(['JiraIntegrationModule options: encryption.currentKey must be exactly 32 bytes']);
    expect(problems({ ...base, encryption: { currentKey: '' } })).toEqual([expect.stringMatching(/encryption\.currentKey is required/)]);
  });

  it('mount the controllers under the route prefix without touching the declared class', () => {
    expect(mountControllers('api/integrations/jira')).toEqual([JiraOAuthController, JiraWebhookController]);
    expect(mountControllers('api/integrations/jira', { jiraProxy: true })).toEqual([JiraOAuthController, JiraWebhookController, JiraProxyController]);
    const proxy = mountControllers('/integrations/jira/', { jiraProxy: true })[2];
    expect(proxy.prototype).toBeInstanceOf(JiraProxyController);
    expect(Reflect.getMetadata(PATH_METADATA, proxy)).toBe('integrations/jira');
    const [mounted, webhooks] = mountControllers('/integrations/jira/');
    expect(webhooks.prototype).toBeInstanceOf(JiraWebhookController);
    expect(Reflect.getMetadata(PATH_METADATA, webhooks)).toBe(
      `integrations/jira${String(Reflect.getMetadata(PATH_METADATA, JiraWebhookController)).replace(/^\/?api\/integrations\/jira/, '')}`);
    expect(mounted).not.toBe(JiraOAuthController);
    expect(mounted.prototype).toBeInstanceOf(JiraOAuthController);
    expect(Reflect.getMetadata(PATH_METADATA, mounted)).toBe('integrations/jira');
    expect(Reflect.getMetadata(PATH_METADATA, JiraOAuthController)).toBe('api/integrations/jira');
  });
});
