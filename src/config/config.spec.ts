import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readAuthSettings } from './auth.config.js';
import { readDatabaseSettings } from './database.config.js';
import { readEncryptionSettings } from './encryption.config.js';
import { readJiraSettings } from './jira.config.js';
import { AppEnv } from './app.config.js';
import { EnvValidationError, validateEnv } from './validate-env.js';

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
});
