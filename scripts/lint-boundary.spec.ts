import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/*
 * eslint.config.js keeps the module (src/integrations/jira/, the jira-connect package) self-contained:
 * no relative import leaves its folder, at any depth, in production files, specs and the testing
 * entry alike; the standalone server may import the module.
 */
const ROOT = resolve(import.meta.dirname, '..');
const MODULE = 'src/integrations/jira';
const BOUNDARY = /The Jira module must not import the standalone server/;

let eslint: ESLint;
beforeAll(() => {
  // Only the rule under test runs: the lint step runs them all.
  eslint = new ESLint({ cwd: ROOT, overrideConfigFile: join(ROOT, 'eslint.config.js'), ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports' });
});

/** The no-restricted-imports messages for `code` linted as if it were the file at `filePath`. */
async function restrictions(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  expect(result.messages.filter((m) => m.fatal)).toEqual([]);
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

/** Every folder of the module, relative to the repository (the module itself first). */
function moduleFolders(dir = MODULE): string[] {
  const children = readdirSync(join(ROOT, dir), { withFileTypes: true }).filter((e) => e.isDirectory());
  return [dir, ...children.flatMap((e) => moduleFolders(`${dir}/${e.name}`))];
}

describe('eslint.config.js: the Jira module imports nothing outside src/integrations/jira/', () => {
  it('refuses an import of the standalone server', async () => {
    const code = "import { TeamsService } from '../../../teams/teams.service.js';\nexport const x = TeamsService;\n";
    expect(await restrictions(code, `${MODULE}/connect/x.ts`)).toEqual([expect.stringMatching(BOUNDARY)]);
  });

  it('refuses leaving the module from every folder of it, for export-from and type imports too', async () => {
    const folders = moduleFolders();
    expect(folders.length).toBeGreaterThan(10);
    for (const folder of folders) {
      const up = relative(folder, 'src').split('/').length; // folders to climb to reach src/
      const out = `${'../'.repeat(up)}config/index.js`;
      const justOut = `${'../'.repeat(up - 2)}..`; // src/integrations/, one folder above the module
      const code = [
        `import { allConfigs } from '${out}';`,
        `export { allConfigs as again } from '${out}';`,
        `import type { TeamRole } from '${'../'.repeat(up + 1)}migrations/index.js';`,
        `export * from '${justOut}';`,
        'export const x: TeamRole | typeof allConfigs = allConfigs;',
      ].join('\n');
      const messages = await restrictions(code, `${folder}/boundary-fixture.ts`);
      expect(messages, folder).toHaveLength(4);
      for (const message of messages) expect(message, folder).toMatch(BOUNDARY);
    }
  });

  it('applies to specs and the testing entry too, where test code is otherwise allowed', async () => {
    expect(await restrictions("import { createTestApp } from '../../../../test/helpers/test-app.js';\nexport const x = createTestApp;\n",
      `${MODULE}/connect/x.spec.ts`)).toEqual([expect.stringMatching(BOUNDARY)]);
    expect(await restrictions("import { loseRefreshAnswers } from '../../../../test/fake-atlassian/token-faults.js';\nexport const x = loseRefreshAnswers;\n",
      `${MODULE}/testing/x.ts`)).toEqual([expect.stringMatching(BOUNDARY)]);
  });

  it('keeps refusing test code in the module\'s production files (both rules apply there)', async () => {
    expect(await restrictions("import { startFakeAtlassian } from '../testing/index.js';\nexport const x = startFakeAtlassian;\n",
      `${MODULE}/connect/x.ts`)).toEqual([expect.stringMatching(/Test code \(the fake Atlassian/)]);
    expect(await restrictions("import { createTestApp } from '../../../../test/helpers/test-app.js';\nexport const x = createTestApp;\n",
      `${MODULE}/connect/x.ts`)).toEqual(expect.arrayContaining([expect.stringMatching(BOUNDARY), expect.stringMatching(/Test code \(the fake Atlassian/)]));
  });

  it('allows imports inside the module and packages', async () => {
    const code = [
      "import { Injectable } from '@nestjs/common';",
      "import type { DataSource } from 'typeorm';",
      "import { randomUUID } from 'node:crypto';",
      "import { JiraClient } from '../client/jira-client.js';",
      "import { Clock } from '../common/clock.js';",
      "import { JiraOAuthService } from './jira-oauth.service.js';",
      "export { JiraErrorCode } from '../jira.errors.js';",
      'export const x = [Injectable, randomUUID, JiraClient, Clock, JiraOAuthService] as unknown as DataSource;',
    ].join('\n');
    expect(await restrictions(code, `${MODULE}/connect/x.ts`)).toEqual([]);
    expect(await restrictions("import { JiraError } from '../../jira.errors.js';\nexport const x = JiraError;\n", `${MODULE}/connect/dto/x.ts`)).toEqual([]);
    expect(await restrictions("import { JiraError } from './jira.errors.js';\nexport const x = JiraError;\n", `${MODULE}/x.ts`)).toEqual([]);
  });

  it('lets the standalone server import the module', async () => {
    expect(await restrictions("import { JiraIntegrationModule } from '../integrations/jira/index.js';\nexport const x = JiraIntegrationModule;\n",
      'src/admin/x.ts')).toEqual([]);
  });

  it('passes on the repository\'s module as it is', async () => {
    const results = await eslint.lintFiles([MODULE]);
    expect(results.length).toBeGreaterThan(100);
    const problems = results.flatMap((r) => r.messages.map((m) => `${relative(ROOT, r.filePath)}:${m.line} ${m.ruleId}: ${m.message}`));
    expect(problems).toEqual([]);
  });
});
