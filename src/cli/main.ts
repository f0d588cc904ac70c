import 'reflect-metadata';
import { loadEnvFile } from '../config/load-env-file.js';
import { parseArgs } from 'node:util';
import { readAuthSettings } from '../config/auth.config.js';
import { readDatabaseSettings } from '../config/database.config.js';
import { readJiraModuleSettings } from '../config/jira-options.js';
import { EnvValidationError } from '../integrations/jira/config/validate-env.js';
import { TokenCipher } from '../integrations/jira/common/crypto/token-cipher.js';
import { createDataSource } from '../database/data-source.js';
import { TEAM_ROLES, type TeamRole } from '../integrations/jira/teams/team-role.js';
import { ensureMembership } from '../teams/teams.service.js';
import { rotateEncryptionKeys } from './key-rotation.js';
import { signHs256Token } from '../auth/sign-token.js';
import { listDeadLetters, requeueDeadLetter } from '../integrations/jira/webhooks/dead-letters.js';

const USAGE = `Usage:
  npm run cli -- dev:token --email <email> --team <team name> [--role owner|admin|member] [--ttl <seconds, default AUTH_JWT_MAX_AGE_SECONDS>]
      Creates the user, team and membership if missing; prints the team id and a bearer token.
      Development only: refused when NODE_ENV=production.
  npm run cli -- keys:rotate
      Re-encrypts every stored token with ENCRYPTION_KEY (old keys in ENCRYPTION_PREVIOUS_KEYS).
  npm run cli -- webhooks:dead-letters [--limit <n>]
      Lists Jira webhook events whose handlers kept failing (newest first, JSON).
  npm run cli -- webhooks:retry <event id>
      Puts one dead-lettered event back in the queue with a fresh set of attempts.`;

class UsageError extends Error {}

async function withDatabase<T>(fn: (ds: ReturnType<typeof createDataSource>) => Promise<T>): Promise<T> {
  const ds = createDataSource(readDatabaseSettings());
  await ds.initialize();
  try {
    if (ds.settings.kind === 'pglite') await ds.runMigrations();
    return await fn(ds);
  } finally {
    await ds.destroy();
  }
}

async function devToken(args: string[]): Promise<void> {
  if (process.env.NODE_ENV === 'production') {
    throw new UsageError('dev:token is refused in production: it mints tokens without a login.');
  }
  const { values } = parseArgs({
    args,
    options: { email: { type: 'string' }, team: { type: 'string' }, role: { type: 'string', default: 'owner' }, ttl: { type: 'string' } },
    strict: true,
  });
  if (!values.email || !/^[^\s@]+@[^\s@]+$/.test(values.email)) throw new UsageError('--email must be an email address');
  if (!values.team?.trim()) throw new UsageError('--team must name a team');
  if (!(TEAM_ROLES as readonly string[]).includes(values.role!)) throw new UsageError(`--role must be one of ${TEAM_ROLES.join(', ')}`);
  const auth = readAuthSettings();
  // The API refuses tokens living longer than AUTH_JWT_MAX_AGE_SECONDS, so never mint one.
  const ttl = Number(values.ttl ?? auth.maxTokenAgeSeconds);
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > auth.maxTokenAgeSeconds) {
    throw new UsageError(`--ttl must be whole seconds between 60 and ${auth.maxTokenAgeSeconds} (AUTH_JWT_MAX_AGE_SECONDS)`);
  }
  const membership = await withDatabase((ds) =>
    ds.transaction((m) => ensureMembership(m, values.email!, values.team!.trim(), values.role as TeamRole)),
  );
  const token = await signHs256Token(auth, membership.userId, ttl);
  console.log(JSON.stringify({ teamId: membership.teamId, userId: membership.userId, role: membership.role, token }, null, 2));
}

async function keysRotate(): Promise<void> {
  const settings = readJiraModuleSettings().encryption;
  const cipher = new TokenCipher(settings.currentKey, settings.previousKeys);
  const result = await withDatabase((ds) => rotateEncryptionKeys(ds, cipher));
  console.log(`keys:rotate: ${result.rotated} value(s) re-encrypted with key ${cipher.currentKeyId}; ${result.current} already current.`);
}

async function webhookDeadLetters(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { limit: { type: 'string', default: '100' } }, strict: true });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit must be a whole number between 1 and 10000');
  console.log(JSON.stringify(await withDatabase((ds) => listDeadLetters(ds, limit)), null, 2));
}

async function webhookRetry(args: string[]): Promise<void> {
  const [id] = args;
  if (!id) throw new UsageError('webhooks:retry needs the event id (see webhooks:dead-letters)');
  const requeued = await withDatabase((ds) => requeueDeadLetter(ds, id, new Date()));
  if (!requeued) throw new UsageError(`No dead-lettered event with id ${id}`);
  console.log(`webhooks:retry: ${id} is queued again; a running server dispatches it within JIRA_WEBHOOK_POLL_MS.`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'dev:token':
      return devToken(rest);
    case 'keys:rotate':
      return keysRotate();
    case 'webhooks:dead-letters':
      return webhookDeadLetters(rest);
    case 'webhooks:retry':
      return webhookRetry(rest);
    case undefined:
    case '--help':
    case 'help':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`Unknown command: ${command}`);
  }
}

loadEnvFile();
main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError || err instanceof EnvValidationError) {
    console.error(err.message);
    if (err instanceof UsageError) console.error(`\n${USAGE}`);
    process.exit(2);
  }
  console.error('cli failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
