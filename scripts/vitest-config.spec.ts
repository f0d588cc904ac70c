import { describe, expect, it } from 'vitest';
import config from '../vitest.config.js';

/*
 * `npm test` (the README's test command) runs every tier in one Vitest run, and Vitest 4 refuses to
 * start a run in which two projects share a `sequence.groupOrder` but not a `maxWorkers` ("Projects
 * … have different 'maxWorkers' but same 'sequence.groupOrder'"). CI runs the pooler tier on its
 * own, beside other checks, so its Node 24 step would not see that: this spec applies Vitest's rule
 * (groupSpecs in vitest/dist) to our configuration.
 */
interface ProjectTest {
  name: string;
  sequence?: { groupOrder?: number };
  maxWorkers?: number;
  fileParallelism?: boolean;
  isolate?: boolean;
}

/** groupOrder → the maxWorkers of each project in it, by project name. */
function workersByGroup(): Map<number, Map<string, number>> {
  const root = config.test as { maxWorkers: number; projects: { test: ProjectTest }[] };
  const groups = new Map<number, Map<string, number>>();
  for (const { test } of root.projects) {
    const order = test.sequence?.groupOrder ?? 0;
    const maxWorkers = test.fileParallelism === false ? 1 : (test.maxWorkers ?? root.maxWorkers);
    // Vitest gives isolated one-file-at-a-time projects of the default group a group of their own.
    if (order === 0 && maxWorkers === 1 && test.isolate !== false) continue;
    if (!groups.has(order)) groups.set(order, new Map());
    groups.get(order)!.set(test.name, maxWorkers);
  }
  return groups;
}

describe('vitest.config.ts: every tier fits in one npm test run', () => {
  it('gives the projects of each sequence.groupOrder one maxWorkers', () => {
    const groups = workersByGroup();
    expect([...groups.values()].flatMap((g) => [...g.keys()])).toEqual(expect.arrayContaining(['integration', 'faults', 'pooler']));
    for (const [order, projects] of groups) {
      expect(new Set(projects.values()).size, `groupOrder ${order}: ${JSON.stringify(Object.fromEntries(projects))}`).toBe(1);
    }
  });
});
