import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { createFileDatabase } from './helpers/test-db.js';

// Deterministic, test-only settings; each test file gets its own database (see test-db.ts).
process.env.NODE_ENV = 'test';
// Logs go to per-app captures (test/helpers/log-capture.ts), not stdout; debug so leak checks see everything.
process.env.LOG_LEVEL ??= 'debug';
process.env.ENCRYPTION_KEY ??= randomBytes(32).toString('base64');
process.env.AUTH_JWT_SECRET ??= randomBytes(48).toString('base64');

// Tiers about the embedded database run on it even when the suite has DATABASE_URL (vitest.config.ts).
if (process.env.JC_TEST_DATABASE === 'embedded') delete process.env.DATABASE_URL;
const db = await createFileDatabase();
afterAll(async () => {
  await db.drop();
});
