import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkGenerated, checkLinks, generatedPages } from './checks.js';
import { anchorsOf } from './links.js';

const root = join(import.meta.dirname, '..', '..');

/** A copy of README.md and docs/ whose pages a test may spoil. */
function copyOfDocs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jc-docs-'));
  cpSync(join(root, 'README.md'), join(dir, 'README.md'));
  cpSync(join(root, 'docs'), join(dir, 'docs'), { recursive: true });
  return dir;
}
const edit = (dir: string, path: string, change: (text: string) => string) =>
  writeFileSync(join(dir, path), change(readFileSync(join(dir, path), 'utf8')));

describe('documentation drift checks (npm run docs:check)', () => {
  let stale: string;
  let openapi: string;
  beforeAll(async () => {
    stale = copyOfDocs();
    openapi = await generatedPages.openapi.generate();
  }, 60_000);
  afterAll(() => rmSync(stale, { recursive: true, force: true }));

  it('the committed configuration reference is what the schema generates', async () => {
    expect(await checkGenerated(generatedPages.config, root)).toEqual([]);
  });

  it('a configuration reference that lags the schema fails, naming the line and the command', async () => {
    edit(stale, 'docs/configuration.md', (t) => t.replace('| `PORT` | `3000` |', '| `PORT` | `8080` |'));
    const problems = await checkGenerated(generatedPages.config, stale);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('`PORT` | `8080`');
    expect(problems[0]).toContain('npm run docs:config');
  });

  it('the committed OpenAPI document is what the app serves', async () => {
    expect(await checkGenerated(generatedPages.openapi, root, openapi)).toEqual([]);
  });

  it('an OpenAPI document missing a route fails', async () => {
    edit(stale, 'docs/openapi.json', (t) => {
      const doc = JSON.parse(t) as { paths: Record<string, unknown> };
      delete doc.paths['/api/integrations/jira/oauth/status'];
      return `${JSON.stringify(doc, null, 2)}\n`;
    });
    const problems = await checkGenerated(generatedPages.openapi, stale, openapi);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('npm run docs:openapi');
  });

  it('every relative link and anchor of README.md and docs/ resolves', () => {
    expect(checkLinks(root)).toEqual([]);
  });

  it('a link to a missing page, or to a heading that is not there, fails', () => {
    edit(stale, 'README.md', (t) => `${t}\n[gone](docs/no-such-page.md) and [moved](docs/tokens.md#no-such-heading)\n`);
    const problems = checkLinks(stale);
    expect(problems.some((p) => p.includes('docs/no-such-page.md') && p.includes('no such file'))).toBe(true);
    expect(problems.some((p) => p.includes('#no-such-heading') && p.includes('no heading'))).toBe(true);
  });
});

describe('anchorsOf (GitHub heading anchors)', () => {
  it.each([
    ['## Connecting Jira (OAuth flow)', 'connecting-jira-oauth-flow'],
    ['### Team membership: `TEAM_ACCESS_POLICY`', 'team-membership-team_access_policy'],
    ['## Tokens for other modules (JiraTokenManager, JiraClient)', 'tokens-for-other-modules-jiratokenmanager-jiraclient'],
    ['### The 365-day rule: `consentExpiresAt` and `reconsent_due`', 'the-365-day-rule-consentexpiresat-and-reconsent_due'],
    ['## Ids: the product\'s own', 'ids-the-products-own'],
  ])('%s → #%s', (heading, anchor) => {
    expect([...anchorsOf(`${heading}\n`)]).toEqual([anchor]);
  });

  it('numbers repeated headings and ignores headings inside code fences', () => {
    expect([...anchorsOf('## Configuration\n```sh\n# not a heading\n```\n## Configuration\n')]).toEqual(['configuration', 'configuration-1']);
  });
});
