import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { freePort } from './browser/sandbox-process.js';
import { createTestApp } from './helpers/test-app.js';

/* The sandbox's pieces that need no browser: development only, and the fake's consent page. */
describe('sandbox', () => {
  it('npm run sandbox refuses to start in production', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', SANDBOX_PORT: String(port) };
    const child = spawn('npm', ['run', '--silent', 'sandbox'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`still running after 60 s:\n${out}`));
      }, 60_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code, out).toBe(2);
    expect(out).toMatch(/development only/);
    expect(out).not.toMatch(/Open http/);
  }, 90_000);

  it('the production app has no demo page (it is mounted by the sandbox only)', async () => {
    const t = await createTestApp({ env: { NODE_ENV: 'production', ALLOW_EMBEDDED_DATABASE: 'true', LOG_LEVEL: 'silent' } });
    try {
      for (const path of ['/sandbox', '/sandbox/']) {
        const res = await t.http.get(path);
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('not_found');
      }
    } finally {
      await t.close();
    }
  });

  describe('the fake Atlassian consent page', () => {
    const fake = new FakeAtlassian({ consentPage: true });
    beforeAll(async () => {
      await fake.start();
      fake.account = { ...FakeAtlassian.account('acme', 2), name: '<b>Eve</b>' };
    });
    afterAll(() => fake.stop());

    const authorizeUrl = () => {
      const url = new URL(`${fake.url}/authorize`);
      for (const [k, v] of Object.entries({ audience: 'api.atlassian.com', client_id: fake.clientId, scope: 'read:jira-work offline_access',
        redirect_uri: fake.redirectUri, state: 'st-1', response_type: 'code', prompt: 'consent' })) url.searchParams.set(k, v);
      return url.toString();
    };
    const decide = (decision: string) => fetch(authorizeUrl(), {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `decision=${decision}`,
    });

    it('shows the account, its sites, the scopes and Accept / Decline, escaped', async () => {
      const res = await fetch(authorizeUrl(), { redirect: 'manual' });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('&lt;b&gt;Eve&lt;/b&gt;');
      expect(html).not.toContain('<b>Eve</b>');
      for (const site of fake.account.sites) expect(html).toContain(site.url);
      expect(html).toContain('offline_access');
      expect(html).toMatch(/id="accept"/);
      expect(html).toMatch(/id="decline"/);
    });

    it('Accept redirects with a code, Decline with error=access_denied, anything else is refused', async () => {
      const accepted = new URL((await decide('accept')).headers.get('location')!);
      expect(accepted.searchParams.get('state')).toBe('st-1');
      expect(accepted.searchParams.get('code')).toMatch(/^code-/);
      const declined = new URL((await decide('decline')).headers.get('location')!);
      expect(declined.searchParams.get('error')).toBe('access_denied');
      expect(declined.searchParams.get('code')).toBeNull();
      expect((await decide('maybe')).status).toBe(400);
    });
  });
});
