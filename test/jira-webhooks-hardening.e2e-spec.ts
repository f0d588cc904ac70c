import { randomUUID } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileFixtures } from './helpers/fixtures.js';
import { connect } from './helpers/oauth-flow.js';
import { waitFor } from './helpers/webhook-probe.js';

const HOOK_URL = 'https://hooks.example.test/api/integrations/jira/webhooks';
const PATH = '/api/integrations/jira/webhooks';

/** `{"a":{"a":…1…}}`, `depth` levels deep counting the outer object. */
const nestedObject = (depth: number): string => '{"a":'.repeat(depth - 1) + '{"b":1}' + '}'.repeat(depth - 1);

/*
 * Issue 16: every correctly signed delivery is stored and acknowledged, or refused with a
 * documented 4xx (which Jira does not retry: it retries 408, 409, 425, 429 and 5xx), never a 5xx;
 * nothing unauthenticated is read; the site comes from every `self` link.
 */
/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('Jira webhook receiver hardening', () => {
  const fake = useFake();
  const t = useApp({
    env: { JIRA_WEBHOOK_URL: HOOK_URL, JIRA_WEBHOOK_JOB_INTERVAL_SECONDS: '0', JIRA_WEBHOOK_POLL_MS: '60000',
      JIRA_WEBHOOK_EVENTS: 'jira:issue_updated', JIRA_WEBHOOK_JQL: 'project = ABC' },
  });
  let cloudId: string;
  let site: string;
  let hookIds: number[];
  let secret: string;
  let gateway: string;
  let port: number;

  const nowS = () => Math.floor(Date.now() / 1000);
  const jwt = (claims: { iat?: number; exp?: number } = {}) =>
    new SignJWT({ context: {} }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(claims.iat ?? nowS()).setExpirationTime(claims.exp ?? nowS() + 180).sign(new TextEncoder().encode(secret));
  const headers = async (deliveryId = randomUUID(), token?: string) => ({
    authorization: `Bearer ${token ?? await jwt()}`, 'content-type': 'application/json', 'x-atlassian-webhook-identifier': deliveryId,
  });
  const post = async (body: string, deliveryId = randomUUID(), token?: string) =>
    t.http.post(PATH).set(await headers(deliveryId, token)).send(body);
  /** A payload as Jira sends it for this site, with `extra` fields. */
  const payload = (extra: Record<string, unknown> = {}) => ({
    webhookEvent: 'jira:issue_updated', matchedWebhookIds: hookIds, timestamp: Date.now(),
    issue: { id: '1', key: 'ABC-1', self: `${site}/rest/api/2/issue/1`, fields: { summary: 'x', project: { self: `${site}/rest/api/2/project/1`, key: 'ABC' } } },
    ...extra,
  });
  const rows = async (deliveryId: string) =>
    (await t.dataSource.query('SELECT payload, raw_body, team_id FROM jira_webhook_events WHERE delivery_id = $1', [deliveryId])) as
      { payload: Record<string, unknown>; raw_body: Buffer | null; team_id: string }[];

  beforeAll(async () => {
    const env = fake.env();
    secret = env.JIRA_CLIENT_SECRET!;
    gateway = env.JIRA_API_BASE_URL!;
    const owner = await t.member('owner');
    const { res } = await connect(t, fake, owner);
    cloudId = res.body.data.site.cloudId;
    site = fake.account.sites[0].url;
    hookIds = (await waitFor(() => (fake.webhooks.live(cloudId).length === 1 ? fake.webhooks.live(cloudId) : null), 'registration')).map((h) => h.id);
    await waitFor(async () => (await t.dataSource.query(`SELECT 1 FROM jira_webhook_registrations WHERE state = 'active'`)).length === 1, 'active');
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  }, 60_000);

  describe('payloads PostgreSQL would refuse as they are', () => {
    it.each([
      ['a NUL', '"issue text with \\u0000 inside"', 'issue text with \uFFFD inside'],
      ['a lone high surrogate', '"broken emoji \\ud800"', 'broken emoji \uFFFD'],
      ['a lone low surrogate', '"\\udfff tail"', '\uFFFD tail'],
      ['a NUL in a key', '{"k\\u0000":1}', { 'k\uFFFD': 1 }],
    ])('stores %s with U+FFFD in the jsonb and the exact raw body beside it', async (_name, json, expected) => {
      const id = randomUUID();
      const raw = JSON.stringify(payload({ comment: { body: '__X__' } })).replace('"__X__"', json);
      const res = await post(raw, id);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.data.status).toBe('accepted');
      const [row, ...more] = await rows(id);
      expect(more).toEqual([]);
      expect((row.payload.comment as { body: unknown }).body).toEqual(expected);
      expect(Buffer.from(row.raw_body!).toString('utf8')).toBe(raw);
    });

    it('stores bytes that are not UTF-8 with U+FFFD, keeping the raw bytes', async () => {
      const id = randomUUID();
      const raw = Buffer.concat([Buffer.from(`${JSON.stringify(payload()).slice(0, -1)},"note":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      // fetch, because supertest would send a Buffer as JSON.
      const res = await fetch(`http://127.0.0.1:${port}${PATH}`, { method: 'POST', headers: await headers(id), body: raw });
      expect(res.status, await res.clone().text()).toBe(200);
      const [row] = await rows(id);
      expect(row.payload.note).toBe('\uFFFD\uFFFD');
      expect(Buffer.compare(Buffer.from(row.raw_body!), raw)).toBe(0);
    });

    it('an ordinary payload is stored as it came, without a raw copy', async () => {
      const id = randomUUID();
      expect((await post(JSON.stringify(payload({ n: '__N__' })).replace('"__N__"', '12345678901234567890.5e3'), id)).status).toBe(200);
      const [row] = await rows(id);
      expect(row.raw_body).toBeNull();
      // jsonb parsed the text itself, so the number keeps every digit.
      expect((await t.dataSource.query(`SELECT payload->>'n' AS n FROM jira_webhook_events WHERE delivery_id = $1`, [id]))[0].n)
        .toBe('12345678901234567890500');
      expect(row.payload.webhookEvent).toBe('jira:issue_updated');
    });

    it('refuses nesting past the body depth limit (32) with 400 body_too_deep; 32 levels are stored', async () => {
      for (const depth of [33, 5000]) {
        const id = randomUUID();
        const res = await post(JSON.stringify(payload({ deep: '__X__' })).replace('"__X__"', nestedObject(depth - 1)), id);
        expect(res.status, String(depth)).toBe(400);
        expect(res.body.code).toBe('body_too_deep');
        expect(await rows(id)).toEqual([]);
      }
      const id = randomUUID();
      const ok = await post(JSON.stringify(payload({ deep: '__X__' })).replace('"__X__"', nestedObject(31)), id);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(await rows(id)).toHaveLength(1);
    });

    it.each(['[]', '"text"', '42', 'null', 'true', '[{"webhookEvent":"x"}]'])('a signed %s at the top is 400 jira_webhook_payload_invalid', async (body) => {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('jira_webhook_payload_invalid');
    });
  });

  it('property: any JSON, validly signed, is 2xx or a documented 4xx, never 5xx, and every accepted one is stored once', async () => {
    const counts = { cases: 0, '2xx': 0, '4xx': 0, '5xx': 0, accepted: 0 };
    const documented4xx = new Set(['jira_webhook_payload_invalid', 'body_too_deep', 'payload_too_large']);
    // Strings with NUL, lone surrogates and every plane; values nested up to 40 levels; big strings.
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('\u0000', '\ud800', '\udc00x', 'a\u0000\ud83d'),
      fc.string({ unit: 'grapheme', maxLength: 5 }), fc.nat(4).map((n) => '\u0000'.repeat(n * 50_000)));
    const value = fc.letrec((tie) => ({
      json: fc.oneof({ depthSize: 'small', maxDepth: 40 }, text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null),
        fc.array(tie('json'), { maxLength: 4 }), fc.dictionary(text, tie('json'), { maxKeys: 4 })),
    })).json;
    const body = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(fc.dictionary(text, value, { maxKeys: 4 }), value).map(([extra, v]) => JSON.stringify({ ...extra, ...payload({ fuzz: v }) })) },
      { weight: 1, arbitrary: value.map((v) => JSON.stringify(v) ?? 'null') },
    );
    await fc.assert(fc.asyncProperty(body, async (raw) => {
      const id = randomUUID();
      const res = await post(raw, id);
      counts.cases++;
      const stored = await rows(id);
      if (res.status >= 500) counts['5xx']++;
      else if (res.status >= 400) counts['4xx']++;
      else counts['2xx']++;
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
      if (res.status >= 400) {
        expect(documented4xx.has(res.body.code), res.body.code).toBe(true);
        expect(stored).toEqual([]);
      } else if (res.body.data.status === 'accepted') {
        counts.accepted++;
        expect(stored).toHaveLength(1);
      }
    }), { numRuns: 250 });
    console.log(`FUZZ webhook receiver: ${JSON.stringify(counts)}`);
    expect(counts['5xx']).toBe(0);
    expect(counts.accepted).toBeGreaterThan(50);
  }, 180_000);

  describe('nothing unauthenticated is read', () => {
    /** Sends `size` bytes of body after `head`; returns the answer and how many body bytes the socket took before it closed. */
    const flood = (authorization: string | null, size: number, chunked = false) => new Promise<{ status: number; written: number; ms: number }>((resolve, reject) => {
      const started = performance.now();
      const socket = tcpConnect(port, '127.0.0.1');
      let written = 0;
      let answer = '';
      let closed = false;
      const data = Buffer.alloc(64 * 1024, 'a');
      // Chunked: no Content-Length, so only counting while reading can stop it.
      const chunk = chunked ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data;
      const pump = () => {
        while (!closed && written < size) {
          written += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      socket.on('connect', () => {
        socket.write(`POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n`
          + `${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`}\r\n`
          + `${authorization ? `Authorization: ${authorization}\r\n` : ''}\r\n`);
        pump();
      });
      socket.on('data', (d) => { answer += d.toString(); });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        closed = true;
        const status = Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1]);
        if (!status) return reject(new Error(`no answer: ${answer}`));
        console.log(`FLOOD ${authorization ? authorization.slice(0, 12) : 'no Authorization'}: ${status} after ${Math.round(performance.now() - started)} ms, `
          + `${(written / 1048576).toFixed(1)} MB taken by the socket of ${size / 1048576} MB`);
        resolve({ status, written, ms: performance.now() - started });
      });
      setTimeout(() => socket.destroy(), 20_000).unref();
    });
    const FIFTY_MB = 50 * 1024 * 1024;

    it('50 MB without Authorization: 401 and the connection is closed long before the body is sent', async () => {
      const res = await flood(null, FIFTY_MB);
      expect(res.status).toBe(401);
      expect(res.written).toBeLessThan(FIFTY_MB / 5);
    });

    it('50 MB with a forged JWT: 401, also before reading', async () => {
      const res = await flood('Bearer eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjk5OTk5OTk5OTl9.c2lnbmF0dXJl', FIFTY_MB);
      expect(res.status).toBe(401);
      expect(res.written).toBeLessThan(FIFTY_MB / 5);
    });

    it('50 MB validly signed: 413 once past the limit (1 MB), the rest is not read', async () => {
      for (const chunked of [false, true]) {
        const res = await flood(`Bearer ${await jwt()}`, FIFTY_MB, chunked);
        expect(res.status, `chunked: ${chunked}`).toBe(413);
        expect(res.written).toBeLessThan(FIFTY_MB / 5);
      }
    });
  });

  describe('webhook JWT lifetime', () => {
    it('refuses a JWT valid for longer than JIRA_WEBHOOK_JWT_MAX_LIFETIME_SECONDS (default 600) or issued in the future', async () => {
      const body = JSON.stringify(payload());
      for (const [name, claims] of [['exp in an hour', { exp: nowS() + 3600 }], ['iat an hour ahead', { iat: nowS() + 3600, exp: nowS() + 3660 }]] as const) {
        const res = await post(body, randomUUID(), await jwt(claims));
        expect(res.status, name).toBe(401);
        expect(res.body.code).toBe('jira_webhook_unauthorized');
      }
      // What Jira sends (about 3 minutes), and a little clock skew, are fine.
      expect((await post(body, randomUUID(), await jwt({ exp: nowS() + 180 }))).status).toBe(200);
      expect((await post(body, randomUUID(), await jwt({ iat: nowS() + 10, exp: nowS() + 190 }))).status).toBe(200);
    });
  });

  describe('the site comes from every self link', () => {
    const status = async (body: unknown) => (await post(JSON.stringify(body))).body.data?.status;

    it('a gateway path on another host is not that site', async () => {
      expect(await status(payload({ issue: { self: `https://evil.example/ex/jira/${cloudId}/rest/api/2/issue/1` } }))).toBe('unmatched');
      expect(await status(payload({ issue: { self: `${gateway}/ex/jira/${cloudId}/rest/api/2/issue/1` } }))).toBe('accepted');
    });

    it('links of two sites, or one link elsewhere, make the delivery unmatched', async () => {
      expect(await status(payload({ user: { self: 'https://other.atlassian.net/rest/api/2/user?accountId=1' } }))).toBe('unmatched');
      const nested = payload();
      (nested.issue.fields as Record<string, unknown>).assignee = { self: 'https://evil.example/rest/api/2/user?accountId=1' };
      expect(await status(nested)).toBe('unmatched');
      expect(await status(payload({ user: { self: `${gateway}/ex/jira/another-cloud/rest/api/2/user` } }))).toBe('unmatched');
      expect(await status(payload({ user: { self: 'not a url' } }))).toBe('unmatched');
      // The site's URL and its gateway path together are one site.
      expect(await status(payload({ user: { self: `${gateway}/ex/jira/${cloudId}/rest/api/2/user?accountId=1` } }))).toBe('accepted');
    });
  });
});
