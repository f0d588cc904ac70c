import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The longest files of each group, longest first (seconds in CI's Node 24 step, 2026-12-05/06).
 * Vitest orders by the durations in its results cache, which a fresh clone (CI) does not have:
 * there it falls back to file size, and a 30-second file picked up last became the run's tail.
 * Files not listed keep Vitest's order, after these. A stale entry only costs ordering.
 */
export const LONG_FILES = [
  'test/jira-rate-limits.e2e-spec.ts', // 30 s: the fake's real-clock quota windows
  'test/migrations-upgrade.e2e-spec.ts', // 19 s: two embedded databases through every migration
  'test/bad-input.e2e-spec.ts', // 25 s: property runs against every endpoint
  'test/jira-webhooks-hardening.e2e-spec.ts', // 17 s
  'test/two-ciphers.e2e-spec.ts', // 12 s on PostgreSQL clones (22 s when it migrated two embedded databases)
  'test/startup.e2e-spec.ts', // 16 s: child processes
  'src/database/data-source.spec.ts', // 14 s
  'test/oauth-state.store.e2e-spec.ts', // 11 s
  'test/token-manager.e2e-spec.ts', // 10 s
  'test/token-clock-skew.e2e-spec.ts', // 10 s
  'examples/host-app/test/host-app.e2e-spec.ts', // 10 s
  'test/migrations.e2e-spec.ts', // 10 s
  'src/cli/key-rotation.spec.ts', // 9 s
  'test/jira-oauth-callback-return.e2e-spec.ts', // 9 s
  'test/browser/sandbox.e2e-spec.ts', // 5 s, but a sandbox process and Chromium to start: never the tail
  // The faults and pooler group, two at a time after the parallel tiers (seconds in CI, 2026-12-06):
  // in the default order the pooler file came last and the pair ran 35 s for 57 s of files.
  'test/token-slow-atlassian.e2e-spec.ts', // 9 s: a 9 s token endpoint
  'test/database-stall.e2e-spec.ts', // 9 s
  'test/pooler/pooler.e2e-spec.ts', // 9 s
  'test/redis-outage-memory.e2e-spec.ts', // 8 s
  'test/token-manager-cross-process.e2e-spec.ts', // 7 s
  'test/token-refresh-outcomes.e2e-spec.ts', // 6 s
];

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const root = this.ctx.config.root;
    const rank = (f: TestSpecification): number => {
      const i = LONG_FILES.indexOf(relative(root, f.moduleId));
      return i === -1 ? LONG_FILES.length : i;
    };
    // Array.prototype.sort is stable: equal ranks keep Vitest's order.
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}
