import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = 'dev-secrets.json';

/**
 * Development convenience: a secret the operator did not configure is generated once into
 * DATA_DIR (mode 0600) so that restarts can still decrypt what was written before.
 * Never used in production; the callers refuse to start there instead.
 */
export function devSecret(dataDir: string, name: string, bytes = 32): string {
  if (dataDir.startsWith('memory://')) return randomBytes(bytes).toString('base64');
  const path = join(dataDir, FILE);
  let secrets: Record<string, string> = {};
  if (existsSync(path)) secrets = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
  if (!secrets[name]) {
    secrets[name] = randomBytes(bytes).toString('base64');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    chmodSync(path, 0o600);
    process.emitWarning(
      `${name} is not set: generated a development value into ${path}. Set it explicitly in production.`,
      { code: 'JIRA_CONNECT_DEV_SECRET' },
    );
  }
  return secrets[name];
}
