import { PATH_METADATA } from '@nestjs/common/constants.js';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JiraOAuthController } from './connect/jira-oauth.controller.js';
import { JiraWebhookController } from './webhooks/jira-webhook.controller.js';
import { encryptionSettingsFrom, jiraSettingsFrom, proxySettingsFrom, rateLimitSettingsFrom, type JiraIntegrationModuleOptions } from './jira-integration.options.js';
import { JiraProxyController } from './proxy/jira-proxy.controller.js';
import { mountControllers } from './module/routes.js';

const key = randomBytes(32);
const base: JiraIntegrationModuleOptions = {
  atlassian: { clientId: 'id', clientSecret: 's3cret-value', redirectUri: 'https://app.example.com/integrations/jira/oauth/callback' },
  encryption: { currentKey: key },
};

describe('JiraIntegrationModule options', () => {
  it('become the settings the services read, with the JIRA_* defaults', () => {
    const s = jiraSettingsFrom({ ...base, returnOrigins: ['https://app.example.com'], tokens: { keepAliveDays: 10 } }, 'integrations/jira');
    expect(s.redirectUri).toBe(base.atlassian.redirectUri);
    expect(s).toMatchObject({
      configured: true,
      scopes: ['read:jira-user', 'read:jira-work', 'offline_access'],
      authBaseUrl: 'https://auth.atlassian.com',
      apiBaseUrl: 'https://api.atlassian.com',
      keepAliveDays: 10,
      httpTimeoutMs: 10_000,
      returnOrigins: ['https://app.example.com'],
    });
    expect(jiraSettingsFrom({ ...base, atlassian: {} }).configured).toBe(false);
    // The redirect URI must end in the module's own callback route.
    expect(() => jiraSettingsFrom(base)).toThrow(/JiraIntegrationModule options: JIRA_REDIRECT_URI must end in/);
    expect(jiraSettingsFrom({ ...base, jiraSettings: { retryBudgetMs: 5 } }, 'integrations/jira').retryBudgetMs).toBe(5);
    expect(rateLimitSettingsFrom(base)).toEqual({ windowMs: 60_000, perUser: 20, callbackPerIp: 30, proxyPerUser: 300 });
    expect(rateLimitSettingsFrom({ ...base, rateLimit: { windowSeconds: 5, perUser: 2 } })).toMatchObject({ windowMs: 5000, perUser: 2 });
  });

  it('are validated like the environment, naming the module in the message', () => {
    expect(() => jiraSettingsFrom({ ...base, atlassian: { ...base.atlassian, scopes: ['read:jira-work'] } }, 'integrations/jira'))
      .toThrow(/JiraIntegrationModule options: .*offline_access/);
    expect(() => jiraSettingsFrom({ ...base, returnOrigins: ['https://app.example.com/path'] }, 'integrations/jira')).toThrow(/JiraIntegrationModule options/);
    expect(() => rateLimitSettingsFrom({ ...base, rateLimit: { perUser: 0 } })).toThrow(/JiraIntegrationModule options/);
  });

  it('read the proxy options through JIRA_PROXY_* validation; bad rules name the option', () => {
    const s = proxySettingsFrom(base);
    expect(s.spaRules.map((r) => r.source)).toEqual(['GET /rest/api/3/**', 'GET /rest/agile/1.0/**']);
    expect(s.adminRules.map((r) => r.source)).toEqual(['* /rest/**']);
    expect(s).toMatchObject({ maxRequestBytes: 1024 * 1024, maxResponseBytes: 10 * 1024 * 1024 });
    expect(proxySettingsFrom({ ...base, proxy: { rules: 'POST /rest/api/3/issue admin', maxRequestKb: 2 } })).toMatchObject({
      spaRules: [{ methods: ['POST'], minRole: 'admin' }], maxRequestBytes: 2048,
    });
    expect(() => proxySettingsFrom({ ...base, proxy: { rules: 'GET /oauth/token' } })).toThrow(/JiraIntegrationModule options: JIRA_PROXY_RULES: "GET \/oauth\/token" must start with \/rest\//);
  });

  it('take keys as Buffers or base64 and refuse anything but 32 bytes', () => {
    const previous = randomBytes(32);
    const s = encryptionSettingsFrom({ ...base, encryption: { currentKey: key.toString('base64'), previousKeys: [previous] } });
    expect(s.currentKey.equals(key)).toBe(true);
    expect(s.previousKeys[0].equals(previous)).toBe(true);
    expect(() => encryptionSettingsFrom({ ...base, encryption: { currentKey: randomBytes(16) } })).toThrow(/encryption.currentKey/);
    expect(() => encryptionSettingsFrom({ ...base, encryption: { currentKey: '' } })).toThrow(/encryption.currentKey is required/);
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
