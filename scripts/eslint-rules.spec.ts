import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The repository's own eslint.config.js, run on fixtures placed (virtually) in src/. */
async function restricted(code: string, filePath = 'src/common/fixture.ts'): Promise<string[]> {
  const [result] = await new ESLint({ cwd: process.cwd() }).lintText(code, { filePath });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

describe('eslint.config.js: one log event, one argument', () => {
  it('refuses logger calls with more than one argument (Nest\'s ConsoleLogger prints each as an entry)', async () => {
    const code = `
      declare const logger: { warn(...a: unknown[]): void };
      class A {
        private readonly logger = logger;
        run(teamId: string) {
          this.logger.warn({ teamId }, 'jira authorization failed');
          logger.warn('redis connection lost', 'reconnecting');
        }
      }
      export { A };
    `;
    expect(await restricted(code)).toEqual([expect.stringMatching(/^One log event, one argument/), expect.stringMatching(/^One log event, one argument/)]);
  });

  it('accepts a single string or a single object carrying its msg', async () => {
    const code = `
      declare const logger: { warn(...a: unknown[]): void; log(...a: unknown[]): void };
      class A {
        private readonly logger = logger;
        run(teamId: string) {
          this.logger.warn({ teamId, msg: 'jira authorization failed' });
          logger.log('started');
        }
      }
      export { A };
    `;
    expect(await restricted(code)).toEqual([]);
  });
});

describe('eslint.config.js: production code does not import test code', () => {
  const imports = async (code: string, filePath: string) => {
    const [result] = await new ESLint({ cwd: process.cwd() }).lintText(code, { filePath });
    return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').length;
  };

  it('refuses the fake Atlassian and the testing entry in src/, and allows them in the testing entry itself', async () => {
    expect(await imports("export { startFakeAtlassian } from '../testing/index.js';\n", 'src/integrations/jira/connect/fixture.ts')).toBe(1);
    expect(await imports("export { FakeAtlassian } from './testing/fake-atlassian/fake-atlassian.js';\n", 'src/integrations/jira/fixture.ts')).toBe(1);
    expect(await imports("export { FakeAtlassian } from '../../test/fake-atlassian/token-faults.js';\n", 'src/admin/fixture.ts')).toBe(1);
    expect(await imports("export { FakeAtlassian } from './fake-atlassian/fake-atlassian.js';\n", 'src/integrations/jira/testing/fixture.ts')).toBe(0);
    expect(await imports("export { JiraClient } from '../client/jira-client.js';\n", 'src/integrations/jira/connect/fixture.ts')).toBe(0);
  });
});
