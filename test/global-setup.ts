import 'reflect-metadata';
import { prepareTemplateDatabase } from './helpers/test-db.js';
import { shareTestRunDir } from './helpers/test-run-dir.js';

/*
 * On PostgreSQL, migrate a template database once; every test file clones it. Also the run's
 * scratch directory (test-run-dir.ts). Several tiers
 * (Vitest projects) declare this setup in one run: the first prepares the template, the others
 * share it, and the last teardown drops it.
 */
interface SharedTemplate {
  ready: Promise<() => Promise<void>>;
  users: number;
}
const KEY = Symbol.for('jira-connect.test-template');
const shared = globalThis as { [KEY]?: SharedTemplate };

async function prepareRun(): Promise<() => Promise<void>> {
  const removeRunDir = shareTestRunDir();
  const dropTemplate = await prepareTemplateDatabase();
  return async () => {
    await dropTemplate();
    removeRunDir();
  };
}

export default async function setup(): Promise<() => Promise<void>> {
  const template = (shared[KEY] ??= { ready: prepareRun(), users: 0 });
  template.users++;
  await template.ready;
  return async () => {
    if (--template.users > 0) return;
    delete shared[KEY];
    await (await template.ready)();
  };
}
