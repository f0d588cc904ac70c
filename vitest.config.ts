import swc from 'unplugin-swc';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { SlowFirstSequencer } from './test/slow-first-sequencer.js';

/*
 * Test tiers (Vitest projects). `npm test` runs them all; `npm run test:tier -- <name>` runs one.
 * Files are classified here by path, never by renaming: any test/*.e2e-spec.ts (or examples/) not
 * listed below is `integration`, so a new file is picked up without touching this file.
 */
const TIERS = {
  /** What differs on the embedded database: adapter, migrations, a whole connect flow. Always PGlite. */
  pglite: ['test/migrations.e2e-spec.ts', 'examples/host-app/test/host-app.e2e-spec.ts'],
  /** Private PostgreSQL/Redis, killed processes, slow Atlassian: after the parallel tiers, two files at a time (inPairs). */
  faults: [
    'test/database-stall.e2e-spec.ts',
    'test/redis-stall.e2e-spec.ts',
    'test/jira-webhooks-crash.e2e-spec.ts',
    'test/token-manager-cross-process.e2e-spec.ts',
    'test/token-slow-atlassian.e2e-spec.ts',
    'test/token-refresh-outcomes.e2e-spec.ts',
    'test/redis-outage-memory.e2e-spec.ts',
  ],
  /** The sandbox and headless Chromium, beside the integration files (generous waits: 30 s a step). */
  browser: ['test/browser/**/*.e2e-spec.ts', 'test/sandbox.e2e-spec.ts'],
  /** The real entry point in child processes (runs on every Node version). Always PGlite. */
  startup: ['test/startup.e2e-spec.ts'],
  /** PgBouncer in transaction mode before a private cluster, and start-up refusals: with the faults (inPairs). */
  pooler: ['test/pooler/**/*.e2e-spec.ts'],
};
const E2E = ['test/**/*.e2e-spec.ts', 'examples/**/*.e2e-spec.ts'];

const shared = {
  // SWC (not esbuild) so that decorator metadata is emitted: Nest's DI reads it.
  plugins: [swc.vite({ module: { type: 'es6' } })],
};
/** On PostgreSQL, one migrated template per run (shared by every project that declares it). */
const e2e = {
  globalSetup: ['test/global-setup.ts'],
  setupFiles: ['test/setup.ts'],
};
/** Tiers that test the embedded database whatever DATABASE_URL says (test/setup.ts reads this). */
const embedded = { env: { JC_TEST_DATABASE: 'embedded' } };
const withoutTemplate = { globalSetup: [] };
/**
 * The fault tests, after the parallel tiers, two files at a time: they mostly wait (on frozen
 * servers, a 9 s token endpoint, a leeway), and one at a time left a core idle for a minute of
 * every CI run. Vitest runs each sequence.groupOrder's files after the previous group's. Like the
 * integration tier, they share each worker's node_modules imports (isolate: false; our own modules
 * are still evaluated per file): the tier alone took 20.4 s of CPU against 26.8 s isolated
 * (2026-12-06, Node 24 on PostgreSQL, quiet machine).
 */
const inPairs = { sequence: { groupOrder: 1 }, maxWorkers: 2, isolate: false };

const project = (name: string, test: TestProjectInlineConfiguration['test']): TestProjectInlineConfiguration => ({
  ...shared,
  test: { name, pool: 'forks', testTimeout: 30_000, hookTimeout: 60_000, ...test },
});

export default defineConfig({
  ...shared,
  test: {
    // Forks spend much of their time waiting on HTTP, timers and the database: on 2 cores CI's Node 24
    // step (every tier but the pooler's, on PostgreSQL) took 260 s with 2 workers (1.16 cores busy)
    // and 242 to 245 s with 3 in fresh clones; with Vitest's durations cached, 195 s with 3 and 211 s
    // with 4 (2026-12-05, quiet machine).
    maxWorkers: Number(process.env.VITEST_MAX_WORKERS) || 3,
    // Long files first, whether or not Vitest has durations cached (a fresh clone has none).
    sequence: { sequencer: SlowFirstSequencer },
    // `--project pooler` finds nothing until test/pooler/ has files: that is not a failure.
    passWithNoTests: true,
    // Under CI, also a JSON report that .ci/run sums into one closing "N passed, N failed" line.
    reporters: process.env.VITEST_JSON_REPORT ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]] : ['default'],
    projects: [
      // Unit files share their workers' module graph (no isolation): each file re-importing Nest,
      // TypeORM and PGlite cost 128 s of the tier's import time under load against 20 s shared
      // (84 s CPU against 38 s for the tier). Unit specs keep no state at module level.
      project('unit', { ...embedded, include: ['src/**/*.spec.ts'], setupFiles: ['test/setup.ts'], isolate: false }),
      // The repository's own tooling (ESLint rules and the module boundary, the docs generator): run
      // by developers and CI on the primary Node only, so not in the Node 20 and 26 runs, where
      // the ESLint boundary spec alone was 6 to 10 s of each run's CPU.
      project('tooling', { ...embedded, include: ['scripts/**/*.spec.ts'], setupFiles: ['test/setup.ts'], isolate: false }),
      // Integration files too: Vitest re-evaluates our own modules for each file either way (module
      // state stays per file); what is shared is node_modules (Nest, TypeORM, pg, PGlite). The tier
      // on PostgreSQL alone: 125 s wall, 199 s CPU in tests, 122 s importing, against 69 s, 90 s
      // and 17 s shared (2026-12-05, 3 workers, quiet machine).
      project('integration', { ...e2e, include: E2E, exclude: Object.values(TIERS).flat(), isolate: false }),
      project('pglite', { ...e2e, ...embedded, ...withoutTemplate, include: TIERS.pglite }),
      project('faults', { ...e2e, ...inPairs, include: TIERS.faults }),
      // With the parallel tiers: alone after the faults, they were the run's last 14 s (two worker
      // starts and Chromium's) for 6 s of work (2026-12-06, CPU-throttled CI).
      project('browser', { ...e2e, include: TIERS.browser }),
      project('startup', { ...e2e, ...embedded, ...withoutTemplate, include: TIERS.startup }),
      // Its own cluster and PgBouncer, like the fault files: under npm test in pairs with them, after the
      // parallel tiers (CI runs it alone, beside its other checks: scripts/ci-pooler.sh).
      project('pooler', { ...e2e, ...inPairs, include: TIERS.pooler }),
    ],
  },
});
