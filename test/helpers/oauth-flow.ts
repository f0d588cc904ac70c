import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { FakeAtlassian } from '../../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import type { TestApp, TestMember } from './test-app.js';

export const CALLBACK_PATH = '/api/integrations/jira/oauth/callback';
export const sha256 = (v: string): string => createHash('sha256').update(v, 'utf8').digest('hex');

export interface StartedFlow {
  authorizationUrl: string;
  state: string;
  /** `name=value` of the binding cookie, ready for a Cookie header. */
  cookie: string;
  cookieValue: string;
  setCookie: string;
  expiresAt: string;
}

/** POST authorize as `m` and pick the state and the binding cookie out of the answer. */
export async function startFlow(t: TestApp, m: TestMember, body: Record<string, unknown> = {}): Promise<StartedFlow> {
  const res = await t.http.post('/api/integrations/jira/oauth/authorize').set(m.headers).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('jc_jira_oauth_'));
  expect(setCookie).toBeDefined();
  const cookie = setCookie!.split(';')[0];
  const state = new URL(res.body.data.authorizationUrl).searchParams.get('state')!;
  return {
    authorizationUrl: res.body.data.authorizationUrl,
    state,
    cookie,
    cookieValue: cookie.slice(cookie.indexOf('=') + 1),
    setCookie: setCookie!,
    expiresAt: res.body.data.expiresAt,
  };
}

/** Consent at the fake and return the path + query Atlassian sends the browser back to. */
export async function consent(fake: FakeAtlassian, flow: StartedFlow, extraQuery: Record<string, string> = {}): Promise<string> {
  const url = await fake.consent(flow.authorizationUrl);
  for (const [k, v] of Object.entries(extraQuery)) url.searchParams.set(k, v);
  return url.pathname + url.search;
}

/** The whole flow: authorize, consent, callback with the cookie. Returns the callback response. */
export async function connect(t: TestApp, fake: FakeAtlassian, m: TestMember, body: Record<string, unknown> = {}, via: TestApp = t) {
  const flow = await startFlow(t, m, body);
  const callback = await consent(fake, flow);
  const res = await via.http.get(callback).set('Cookie', flow.cookie);
  return { flow, callback, res };
}

export async function integrationRow(t: TestApp, teamId: string): Promise<Record<string, unknown> | undefined> {
  const rows = (await t.dataSource.query('SELECT * FROM jira_integrations WHERE team_id = $1', [teamId])) as Record<string, unknown>[];
  return rows[0];
}

/** Every column of both tables as text: what must never contain a secret. */
export async function dumpOAuthTables(t: TestApp): Promise<string> {
  const out: string[] = [];
  for (const table of ['jira_integrations', 'jira_oauth_states']) {
    const rows = (await t.dataSource.query(`SELECT row_to_json(x)::text AS j FROM ${table} x`)) as { j: string }[];
    out.push(...rows.map((r) => r.j));
  }
  return out.join('\n');
}
