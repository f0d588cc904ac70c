import { beforeEach, describe, expect, it } from 'vitest';
import { readJiraModuleSettings } from '../src/config/jira-options.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { fileFixtures } from './helpers/fixtures.js';
import { CALLBACK_PATH, consent, integrationRow, sha256, startFlow, type StartedFlow } from './helpers/oauth-flow.js';
import type { TestApp } from './helpers/test-app.js';

const readJiraSettings = (env: NodeJS.ProcessEnv) => readJiraModuleSettings(env).jira;

/*
 * Issue 10 item 2: every callback failure goes back to the app. A known state (even expired, used,
 * superseded or without its cookie) sends the browser to its flow's returnTo; an unknown or absent
 * one to OAUTH_DEFAULT_RETURN_URL when set, otherwise problem JSON.
 */
const APP = 'https://app.example.test';
const DEFAULT_RETURN = `${APP}/settings/integrations?tab=jira`;
/** The file's fake Atlassian and its apps: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('callback failures return to the app', () => {
  const fake = useFake();
  const env = { OAUTH_RETURN_ORIGINS: APP, JIRA_RATE_LIMIT_PER_USER: '1000', JIRA_RATE_LIMIT_CALLBACK_PER_IP: '1000' };
  const t = useApp({ env });
  /** Same database, with OAUTH_DEFAULT_RETURN_URL. */
  const withDefault = useApp({ env: { ...env, OAUTH_DEFAULT_RETURN_URL: DEFAULT_RETURN } });
  const handedOut: string[] = [];
  let requestNo = 0;
  beforeEach(() => {
    fake.account = FakeAtlassian.account('acme', 1);
    fake.tokenLatencyMs = 0;
  });

  const start = async (app: TestApp, m: Awaited<ReturnType<TestApp['member']>>, returnTo = `${APP}/jira?from=test`): Promise<StartedFlow> => {
    const flow = await startFlow(app, m, { returnTo });
    handedOut.push(flow.state, flow.cookieValue);
    return flow;
  };

  /** GET the callback, tagged with a request id so its request log line can be found. */
  const callback = (app: TestApp, path: string, cookie?: string) => {
    const requestId = `cb-${process.pid}-${++requestNo}`;
    const req = app.http.get(path).set('x-request-id', requestId);
    return { requestId, res: cookie ? req.set('Cookie', cookie) : req };
  };

  const cleared = (res: { headers: Record<string, unknown> }, flow: StartedFlow): boolean =>
    ([] as string[]).concat((res.headers['set-cookie'] as string[] | undefined) ?? [])
      .some((c) => c.startsWith(`${flow.cookie.split('=')[0]}=;`));

  const requestLog = (app: TestApp, requestId: string) =>
    app.logs.waitFor((l) => (l.req as { id?: string } | undefined)?.id === requestId && l.res !== undefined);

  it('a known state without its cookie goes to returnTo with oauth_binding_missing, keeps the cookie and the state', async () => {
    const m = await t.member('owner');
    const flow = await start(t, m);
    const path = await consent(fake, flow);
    const { requestId, res } = callback(t, path);
    const answer = await res;
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe(`${APP}/jira?from=test&jira=error&code=oauth_binding_missing`);
    expect(cleared(answer, flow)).toBe(false);
    const log = await requestLog(t, requestId);
    expect(log, t.logs.text.slice(-3000)).toMatchObject({ problemCode: 'oauth_binding_missing', res: { statusCode: 302 } });
    // The state is still usable by the browser that holds the cookie.
    const done = await callback(t, path, flow.cookie).res;
    expect(done.headers.location).toBe(`${APP}/jira?from=test&jira=connected`);
    expect(cleared(done, flow)).toBe(true);
  });

  it('a cookie from another browser goes to returnTo with oauth_binding_mismatch and does not clear it', async () => {
    const victim = await t.member('owner');
    const other = await t.member('owner');
    const flow = await start(t, victim);
    const otherFlow = await start(t, other);
    const path = await consent(fake, flow);
    const res = await callback(t, path, `${flow.cookie.split('=')[0]}=${otherFlow.cookieValue}`).res;
    expect(res.headers.location).toBe(`${APP}/jira?from=test&jira=error&code=oauth_binding_mismatch`);
    expect(cleared(res, flow)).toBe(false);
    expect(await integrationRow(t, victim.teamId)).toBeUndefined();
  });

  it('an expired state goes to returnTo with oauth_state_expired and clears the cookie', async () => {
    const m = await t.member('owner');
    const flow = await start(t, m);
    const path = await consent(fake, flow);
    await t.dataSource.query(`UPDATE jira_oauth_states SET expires_at = now() - interval '1 second' WHERE state_hash = $1`, [sha256(flow.state)]);
    const { requestId, res } = callback(t, path, flow.cookie);
    const answer = await res;
    expect(answer.headers.location).toBe(`${APP}/jira?from=test&jira=error&code=oauth_state_expired`);
    expect(cleared(answer, flow)).toBe(true);
    expect(await requestLog(t, requestId)).toMatchObject({ problemCode: 'oauth_state_expired' });
  });

  it('a replayed callback goes to returnTo with oauth_state_replayed and clears the cookie', async () => {
    const m = await t.member('owner');
    const flow = await start(t, m);
    const path = await consent(fake, flow);
    expect((await callback(t, path, flow.cookie).res).headers.location).toMatch(/jira=connected$/);
    const replay = await callback(t, path, flow.cookie).res;
    expect(replay.headers.location).toBe(`${APP}/jira?from=test&jira=error&code=oauth_state_replayed`);
    expect(cleared(replay, flow)).toBe(true);
  });

  it('an unknown or absent state goes to OAUTH_DEFAULT_RETURN_URL when set, else problem JSON', async () => {
    const unknown = callback(withDefault, `${CALLBACK_PATH}?code=abc&state=not-ours`);
    const unknownRes = await unknown.res;
    expect(unknownRes.status).toBe(302);
    expect(unknownRes.headers.location).toBe(`${DEFAULT_RETURN}&jira=error&code=oauth_state_invalid`);
    expect(await requestLog(withDefault, unknown.requestId)).toMatchObject({ problemCode: 'oauth_state_invalid' });
    const absent = await callback(withDefault, `${CALLBACK_PATH}?code=abc`).res;
    expect(absent.headers.location).toBe(`${DEFAULT_RETURN}&jira=error&code=oauth_state_missing`);

    const json = callback(t, `${CALLBACK_PATH}?code=abc&state=not-ours`);
    const jsonRes = await json.res;
    expect(jsonRes.status).toBe(400);
    expect(jsonRes.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(jsonRes.body.code).toBe('oauth_state_invalid');
    expect(await requestLog(t, json.requestId)).toMatchObject({ problemCode: 'oauth_state_invalid', res: { statusCode: 400 } });
  });

  it('a known state still uses its own returnTo when OAUTH_DEFAULT_RETURN_URL is set', async () => {
    const m = await withDefault.member('owner');
    const flow = await start(withDefault, m, `${APP}/own`);
    const path = await consent(fake, flow);
    const res = await callback(withDefault, path).res;
    expect(res.headers.location).toBe(`${APP}/own?jira=error&code=oauth_binding_missing`);
  });

  it('OAUTH_DEFAULT_RETURN_URL must be an absolute URL on an origin of OAUTH_RETURN_ORIGINS', () => {
    expect(readJiraSettings({ OAUTH_RETURN_ORIGINS: APP, OAUTH_DEFAULT_RETURN_URL: `${APP}/x` }).defaultReturnUrl).toBe(`${APP}/x`);
    expect(() => readJiraSettings({ OAUTH_RETURN_ORIGINS: APP, OAUTH_DEFAULT_RETURN_URL: 'https://evil.test/x' }))
      .toThrow(/OAUTH_DEFAULT_RETURN_URL/);
    expect(() => readJiraSettings({ OAUTH_DEFAULT_RETURN_URL: `${APP}/x` })).toThrow(/OAUTH_DEFAULT_RETURN_URL/);
    expect(() => readJiraSettings({ OAUTH_RETURN_ORIGINS: APP, OAUTH_DEFAULT_RETURN_URL: '/relative' })).toThrow(/OAUTH_DEFAULT_RETURN_URL/);
    expect(readJiraSettings({ OAUTH_RETURN_ORIGINS: APP }).defaultReturnUrl).toBeNull();
  });

  describe('superseded flows', () => {
    /**
     * Starts the callback with a slow token endpoint and waits until it has consumed its state;
     * the response comes wrapped, or awaiting this would wait for it.
     */
    async function callbackWaitingOnAtlassian(flow: StartedFlow, path: string) {
      fake.tokenLatencyMs = 3000;
      const pending = callback(t, path, flow.cookie).res.then((r) => r);
      for (let i = 0; i < 500; i++) {
        const [row] = await t.dataSource.query('SELECT consumed_at FROM jira_oauth_states WHERE state_hash = $1', [sha256(flow.state)]);
        if (row.consumed_at) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      return { response: pending };
    }

    it('a new authorize for the team supersedes its pending flow: the old callback fails with oauth_state_superseded', async () => {
      const first = await t.member('owner');
      const second = await t.member('admin', first.teamId);
      const older = await start(t, first, `${APP}/older`);
      const newer = await start(t, second, `${APP}/newer`);
      const olderPath = await consent(fake, older);
      const newerPath = await consent(fake, newer);
      const { requestId, res } = callback(t, olderPath, older.cookie);
      const olderRes = await res;
      expect(olderRes.headers.location).toBe(`${APP}/older?jira=error&code=oauth_state_superseded`);
      expect(cleared(olderRes, older)).toBe(true);
      expect(await requestLog(t, requestId)).toMatchObject({ problemCode: 'oauth_state_superseded' });
      expect(await integrationRow(t, first.teamId)).toBeUndefined();
      const exchanges = fake.tokenRequests.length;
      expect((await callback(t, newerPath, newer.cookie).res).headers.location).toBe(`${APP}/newer?jira=connected`);
      expect(fake.tokenRequests.length).toBe(exchanges + 1); // only the newer flow exchanged its code
      expect(await integrationRow(t, first.teamId)).toMatchObject({ status: 'connected', connected_by_user_id: second.userId });
    });

    it('another team\'s authorize supersedes nothing', async () => {
      const a = await t.member('owner');
      const b = await t.member('owner');
      const flow = await start(t, a);
      await start(t, b);
      const path = await consent(fake, flow);
      expect((await callback(t, path, flow.cookie).res).headers.location).toMatch(/jira=connected$/);
    });

    it('a flow superseded while its callback is exchanging the code does not report connected and writes nothing', async () => {
      const first = await t.member('owner');
      const second = await t.member('owner', first.teamId);
      const older = await start(t, first, `${APP}/older`);
      const olderPath = await consent(fake, older);
      const inFlight = await callbackWaitingOnAtlassian(older, olderPath);
      const newer = await start(t, second, `${APP}/newer`);
      const newerPath = await consent(fake, newer);
      const newerRes = callback(t, newerPath, newer.cookie).res.then((r) => r);
      const [olderDone, newerDone] = await Promise.all([inFlight.response, newerRes]);
      expect(olderDone.headers.location).toBe(`${APP}/older?jira=error&code=oauth_state_superseded`);
      expect(newerDone.headers.location).toBe(`${APP}/newer?jira=connected`);
      expect(await integrationRow(t, first.teamId)).toMatchObject({ status: 'connected', connected_by_user_id: second.userId, token_version: 1 });
    });

    it('a disconnect while a callback is exchanging the code cancels that flow', async () => {
      const m = await t.member('owner');
      const flow = await start(t, m, `${APP}/cancelled`);
      const inFlight = await callbackWaitingOnAtlassian(flow, await consent(fake, flow));
      expect((await t.http.delete('/api/integrations/jira/oauth/disconnect').set(m.headers)).status).toBe(200);
      expect((await inFlight.response).headers.location).toBe(`${APP}/cancelled?jira=error&code=oauth_state_superseded`);
      expect(await integrationRow(t, m.teamId)).toBeUndefined();
    });
  });

  it('no state, code or binding cookie reaches the logs or a redirect', async () => {
    const secrets = [...handedOut, ...fake.issuedSecrets()];
    expect(t.logs.leaked(secrets)).toEqual([]);
    expect(withDefault.logs.leaked(secrets)).toEqual([]);
  });
});
