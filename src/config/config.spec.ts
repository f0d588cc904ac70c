import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readAuthSettings } from './auth.config.js';
import { readDatabaseSettings } from './database.config.js';
import { JIRA_CALLBACK_PATH } from '../integrations/jira/config/jira.config.js';
import { readJiraModuleSettings } from './jira-options.js';
import { parseTrustProxy } from './trust-proxy.js';
import { JiraOAuthController } from '../integrations/jira/connect/jira-oauth.controller.js';
import { AppEnv } from './app.config.js';
import { EnvValidationError, validateEnv } from '../integrations/jira/config/validate-env.js';

/** The module's settings from these variables (through the standalone server's one factory). */
const readEncryptionSettings = (env: NodeJS.ProcessEnv) => readJiraModuleSettings(env).encryption;
const readJiraSettings = (env: NodeJS.ProcessEnv) => readJiraModuleSettings(env).jira;
const readRedisSettings = (env: NodeJS.ProcessEnv) => readJiraModuleSettings(env).redis;

const key = () => randomBytes(32).toString('base64');

describe('environment validation', () => {
  it('names the variable that is wrong', () => {
    expect(() => validateEnv(AppEnv, { PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => validateEnv(AppEnv, { NODE_ENV: 'staging' })).toThrow(/NODE_ENV/);
    expect(() => readDatabaseSettings({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => readEncryptionSettings({ ENCRYPTION_KEY: 'short' })).toThrow(/ENCRYPTION_KEY/);
    expect(() => readJiraSettings({ JIRA_REDIRECT_URI: 'not a url' })).toThrow(/JIRA_REDIRECT_URI/);
    expect(() => readJiraSettings({ JIRA_KEEPALIVE_DAYS: '120' })).toThrow(/JIRA_KEEPALIVE_DAYS/);
  });

  it('applies defaults and treats empty values as unset', () => {
    const app = validateEnv(AppEnv, { PORT: '', LOG_LEVEL: '' });
    expect(app.PORT).toBe(3000);
    expect(app.LOG_LEVEL).toBe('info');
    expect(readDatabaseSettings({ DATABASE_URL: '' }).kind).toBe('pglite');
    expect(readDatabaseSettings({ DATABASE_URL: 'postgres://u@h/db' }).kind).toBe('postgres');
  });

  it('refuses to start production without an encryption key or auth secret, or with placeholders', () => {
    expect(() => readEncryptionSettings({ NODE_ENV: 'production' })).toThrow(EnvValidationError);
    expect(() => readAuthSettings({ NODE_ENV: 'production' })).toThrow(/AUTH_JWT_SECRET or AUTH_JWKS_URL/);
    expect(() => readAuthSettings({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'changeme' })).toThrow(/AUTH_JWT_SECRET/);
    expect(readEncryptionSettings({ NODE_ENV: 'production', ENCRYPTION_KEY: key() }).currentKey).toHaveLength(32);
  });

  it('decodes previous keys and rejects malformed ones', () => {
    const s = readEncryptionSettings({ ENCRYPTION_KEY: key(), ENCRYPTION_PREVIOUS_KEYS: `${key()}, ${key()}` });
    expect(s.previousKeys).toHaveLength(2);
    expect(() => readEncryptionSettings({ ENCRYPTION_KEY: key(), ENCRYPTION_PREVIOUS_KEYS: 'abc' })).toThrow(/ENCRYPTION_PREVIOUS_KEYS/);
  });

  it('requires offline_access in JIRA_SCOPES and bare origins in OAUTH_RETURN_ORIGINS', () => {
    expect(() => readJiraSettings({ JIRA_SCOPES: 'read:jira-work' })).toThrow(/offline_access/);
    expect(() => readJiraSettings({ OAUTH_RETURN_ORIGINS: 'https://app.example.com/path' })).toThrow(/OAUTH_RETURN_ORIGINS/);
    const s = readJiraSettings({ OAUTH_RETURN_ORIGINS: 'https://app.example.com, http://localhost:5173' });
    expect(s.returnOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
  });

  it('knows when Jira is configured', () => {
    expect(readJiraSettings({}).configured).toBe(false);
    expect(readJiraSettings({ JIRA_CLIENT_ID: 'id', JIRA_CLIENT_SECRET: 's', JIRA_REDIRECT_URI: 'https://x/api/integrations/jira/oauth/callback' }).configured).toBe(true);
    expect(readJiraSettings({ JIRA_CLIENT_ID: 'id', JIRA_CLIENT_SECRET: 'changeme', JIRA_REDIRECT_URI: 'https://x/api/integrations/jira/oauth/callback' }).configured).toBe(false);
  });

  it('requires JIRA_REDIRECT_URI to end in the callback route, which is the controller\'s route', () => {
    const controller = Reflect.getMetadata('path', JiraOAuthController) as string;
    const method = Reflect.getMetadata('path', JiraOAuthController.prototype.callback) as string;
    expect(`/${controller}/${method}`).toBe(JIRA_CALLBACK_PATH);
    expect(readJiraSettings({ JIRA_REDIRECT_URI: `https://api.example.com${JIRA_CALLBACK_PATH}` }).redirectUri).toBeDefined();
    expect(readJiraSettings({ JIRA_REDIRECT_URI: `https://example.com/connect${JIRA_CALLBACK_PATH}` }).redirectUri).toBeDefined();
    for (const bad of ['https://api.example.com/callback', `https://api.example.com${JIRA_CALLBACK_PATH}?x=1`, `https://api.example.com${JIRA_CALLBACK_PATH}/`]) {
      expect(() => readJiraSettings({ JIRA_REDIRECT_URI: bad }), bad).toThrow(/JIRA_REDIRECT_URI must end in/);
    }
  });

  it('refuses the embedded database in production unless ALLOW_EMBEDDED_DATABASE=true', () => {
    expect(() => readDatabaseSettings({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL is required in production/);
    expect(readDatabaseSettings({ NODE_ENV: 'production', ALLOW_EMBEDDED_DATABASE: 'true' }).kind).toBe('pglite');
    expect(readDatabaseSettings({ NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/db' }).kind).toBe('postgres');
    expect(() => readDatabaseSettings({ ALLOW_EMBEDDED_DATABASE: 'yes' })).toThrow(/ALLOW_EMBEDDED_DATABASE/);
  });

  it('reads TRUST_PROXY as Express expects it, and rejects anything else', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('loopback, 10.0.0.0/8, ::1')).toEqual(['loopback', '10.0.0.0/8', '::1']);
    for (const bad of ['yes', '10.0.0.0/33', '300.1.1.1', 'loopback,']) expect(parseTrustProxy(bad), bad).toBeUndefined();
    expect(() => validateEnv(AppEnv, { TRUST_PROXY: 'yes' })).toThrow(/TRUST_PROXY must be/);
  });

  it('reports one line per variable, however many constraints it breaks', () => {
    expect(() => validateEnv(AppEnv, { PORT: 'eighty' })).toThrow(expect.objectContaining({ problems: ['PORT must be a whole number from 0 to 65535'] }));
  });

  it('bounds the refresh settings and the pool size (issue 8)', () => {
    const d = readJiraSettings({});
    expect(d).toMatchObject({ refreshConcurrency: 50, refreshRecoverySeconds: 60 });
    expect(readJiraSettings({ JIRA_REFRESH_RECOVERY_SECONDS: '1' }).refreshRecoverySeconds).toBe(1);
    // Recovery must land well inside Atlassian's 10-minute reuse leeway.
    expect(() => readJiraSettings({ JIRA_REFRESH_RECOVERY_SECONDS: '600' })).toThrow(/JIRA_REFRESH_RECOVERY_SECONDS/);
    expect(() => readJiraSettings({ JIRA_REFRESH_RECOVERY_SECONDS: '0' })).toThrow(/JIRA_REFRESH_RECOVERY_SECONDS/);
    expect(() => readJiraSettings({ JIRA_REFRESH_CONCURRENCY: '0' })).toThrow(/JIRA_REFRESH_CONCURRENCY/);
    expect(readDatabaseSettings({ DATABASE_URL: 'postgres://u@h/db' }).poolSize).toBe(10);
    expect(readDatabaseSettings({ DATABASE_URL: 'postgres://u@h/db', DATABASE_POOL_SIZE: '4' }).poolSize).toBe(4);
    expect(() => readDatabaseSettings({ DATABASE_POOL_SIZE: '0' })).toThrow(/DATABASE_POOL_SIZE/);
  });

  it('bounds every database and Redis wait, with defaults, refusing unbounded or silly values', () => {
    expect(readDatabaseSettings({})).toMatchObject({ connectTimeoutMs: 5000, statementTimeoutMs: 10_000 });
    expect(readDatabaseSettings({ DATABASE_CONNECT_TIMEOUT_MS: '1500', DATABASE_STATEMENT_TIMEOUT_MS: '2500' }))
      .toMatchObject({ connectTimeoutMs: 1500, statementTimeoutMs: 2500 });
    for (const bad of ['0', '-1', 'soon', '1.5']) {
      expect(() => readDatabaseSettings({ DATABASE_CONNECT_TIMEOUT_MS: bad })).toThrow(/DATABASE_CONNECT_TIMEOUT_MS/);
      expect(() => readDatabaseSettings({ DATABASE_STATEMENT_TIMEOUT_MS: bad })).toThrow(/DATABASE_STATEMENT_TIMEOUT_MS/);
      expect(() => readRedisSettings({ REDIS_COMMAND_TIMEOUT_MS: bad })).toThrow(/REDIS_COMMAND_TIMEOUT_MS/);
    }
    expect(() => readRedisSettings({ REDIS_CONNECT_TIMEOUT_MS: '600000' })).toThrow(/REDIS_CONNECT_TIMEOUT_MS/);
    expect(readRedisSettings({})).toMatchObject({ commandTimeoutMs: 1000, connectTimeoutMs: 1000 });
  });
  it('reads the module\'s options from the environment in one factory, naming every problem by its variable at once', () => {
    let problems: string[] = [];
    try {
      readJiraModuleSettings({ JIRA_KEEPALIVE_DAYS: '900', NOTIFY_WEBHOOK_URL: 'https://api.example.com/hooks', JIRA_WEBHOOK_LEASE_MS: '1000',
        JIRA_PROXY_RULES: 'GET /oauth/token', JIRA_SCOPES: 'read:jira-work' });
    } catch (err) {
      problems = (err as EnvValidationError).problems;
    }
    expect(problems).toEqual([
      'JIRA_KEEPALIVE_DAYS must not be greater than 80',
      'JIRA_SCOPES must include offline_access, or Atlassian issues no refresh token',
      'NOTIFY_WEBHOOK_SECRET (at least 32 random characters) is required with NOTIFY_WEBHOOK_URL',
      'JIRA_WEBHOOK_LEASE_MS must be longer than JIRA_WEBHOOK_HANDLER_TIMEOUT_MS',
      expect.stringMatching(/^JIRA_PROXY_RULES: "GET \/oauth\/token" must start with \/rest\//),
    ]);
    const s = readJiraModuleSettings({ JIRA_SCOPES: 'offline_access read:me', OAUTH_RETURN_ORIGINS: 'https://a.example, https://b.example',
      JIRA_WEBHOOK_EVENTS: 'jira:issue_created,jira:issue_updated', JIRA_WEBHOOK_JQL: 'project = A', ENCRYPTION_KEY: key() });
    expect(s.jira.scopes).toEqual(['offline_access', 'read:me']);
    expect(s.jira.returnOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(s.webhooks.events).toEqual(['jira:issue_created', 'jira:issue_updated']);
  });
});
