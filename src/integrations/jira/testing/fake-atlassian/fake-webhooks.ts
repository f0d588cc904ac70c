import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT } from 'jose';

/*
 * Jira's dynamic webhooks for OAuth 2.0 apps, as the REST v3 reference documents them:
 * POST/GET/DELETE /rest/api/3/webhook and PUT /rest/api/3/webhook/refresh through the
 * api.atlassian.com/ex/jira/{cloudId} gateway; 30-day expiry; one URL per app; ids unique per
 * site only; registration errors reported inside a 200 body; webhooks die with the grant. It
 * also builds deliveries the way Jira sends them: JSON body with webhookEvent, timestamp,
 * matchedWebhookIds and `self` links on the site, `Authorization: Bearer <HS256 JWT signed with
 * the client secret>`, `X-Atlassian-Webhook-Identifier`.
 */

const LIFETIME_MS = 30 * 24 * 3_600_000;
const SUPPORTED_EVENTS = new Set(['jira:issue_created', 'jira:issue_updated', 'jira:issue_deleted', 'comment_created',
  'comment_updated', 'comment_deleted', 'issue_property_set', 'issue_property_deleted']);

export interface FakeWebhook {
  id: number;
  url: string;
  events: string[];
  jqlFilter: string;
  fieldIdsFilter?: string[];
  expiresAt: number;
  grantId: string;
  siteUrl: string;
}

export interface WebhookOp {
  op: 'register' | 'list' | 'refresh' | 'delete';
  cloudId: string;
  ids: number[];
}

export interface FakeDelivery {
  headers: Record<string, string>;
  body: string;
  deliveryId: string;
  matchedWebhookIds: number[];
}

/** The bits of the grant the fake's Jira gateway has already authenticated. */
export interface GrantRef {
  id: string;
  revoked: boolean;
  siteUrl: string;
}

/** Jira renders dates as `2019-06-01T12:42:30.000+0000`. */
const jiraDate = (ms: number): string => new Date(ms).toISOString().replace('Z', '+0000');

const readJson = (req: IncomingMessage): Promise<Record<string, unknown>> =>
  new Promise((resolve) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      try {
        resolve(JSON.parse(raw) as Record<string, unknown>);
      } catch {
        resolve({});
      }
    });
  });

const send = (res: ServerResponse, status: number, body?: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
};

export class FakeJiraWebhooks {
  /** Added to Date.now() for expiry (tests move it with the app's clock). */
  offsetMs = 0;
  readonly ops: WebhookOp[] = [];
  private readonly sites = new Map<string, { nextId: number; hooks: Map<number, FakeWebhook> }>();
  private readonly grants = new Map<string, GrantRef>();

  constructor(private readonly clientSecret: () => string) {}

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Live webhooks of a site (not expired, grant alive). */
  live(cloudId: string): FakeWebhook[] {
    return [...(this.sites.get(cloudId)?.hooks.values() ?? [])].filter((h) => h.expiresAt > this.now() && !this.grants.get(h.grantId)?.revoked);
  }

  /** Jira forgot them (what re-registration must survive). */
  lose(cloudId: string): void {
    this.sites.get(cloudId)?.hooks.clear();
  }

  count(op: WebhookOp['op'], cloudId?: string): number {
    return this.ops.filter((o) => o.op === op && (!cloudId || o.cloudId === cloudId)).length;
  }

  /** Called by FakeAtlassian for /rest/api/3/webhook* once the bearer token and site are checked. */
  async handle(req: IncomingMessage, res: ServerResponse, cloudId: string, path: string, grant: GrantRef): Promise<void> {
    this.grants.set(grant.id, grant);
    const site = this.sites.get(cloudId) ?? { nextId: 10000, hooks: new Map<number, FakeWebhook>() };
    this.sites.set(cloudId, site);
    const method = req.method ?? 'GET';
    if (path === '/rest/api/3/webhook' && method === 'GET') {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const startAt = Number(q.get('startAt') ?? 0);
      const maxResults = Math.min(100, Number(q.get('maxResults') ?? 50));
      const all = this.live(cloudId);
      const values = all.slice(startAt, startAt + maxResults).map((h) => ({
        id: h.id, events: h.events, jqlFilter: h.jqlFilter, ...(h.fieldIdsFilter ? { fieldIdsFilter: h.fieldIdsFilter } : {}),
        expirationDate: jiraDate(h.expiresAt),
      }));
      this.ops.push({ op: 'list', cloudId, ids: values.map((v) => v.id) });
      return send(res, 200, { startAt, maxResults, total: all.length, isLast: startAt + values.length >= all.length, values });
    }
    const body = await readJson(req);
    if (path === '/rest/api/3/webhook' && method === 'POST') {
      const url = typeof body.url === 'string' ? body.url : '';
      const webhooks = Array.isArray(body.webhooks) ? (body.webhooks as Record<string, unknown>[]) : [];
      if (!url || webhooks.length === 0) return send(res, 400, { errorMessages: ['url and webhooks are required'] });
      const otherUrl = this.live(cloudId).find((h) => h.url !== url);
      const results = webhooks.map((w): { createdWebhookId?: number; errors?: string[] } => {
        const events = Array.isArray(w.events) ? w.events.map(String) : [];
        const jql = typeof w.jqlFilter === 'string' ? w.jqlFilter : '';
        if (otherUrl) return { errors: ['Only a single URL per app is allowed to be registered.'] };
        if (events.length === 0 || events.some((e) => !SUPPORTED_EVENTS.has(e))) return { errors: ['Invalid events'] };
        if (!jql || /~|ORDER BY|\bis\b|[<>]/i.test(jql)) return { errors: [`The JQL query '${jql}' is not supported.`] };
        const hook: FakeWebhook = { id: site.nextId++, url, events, jqlFilter: jql, expiresAt: this.now() + LIFETIME_MS, grantId: grant.id,
          siteUrl: grant.siteUrl, ...(Array.isArray(w.fieldIdsFilter) ? { fieldIdsFilter: w.fieldIdsFilter.map(String) } : {}) };
        site.hooks.set(hook.id, hook);
        return { createdWebhookId: hook.id };
      });
      this.ops.push({ op: 'register', cloudId, ids: results.flatMap((r) => (r.createdWebhookId !== undefined ? [r.createdWebhookId] : [])) });
      return send(res, 200, { webhookRegistrationResult: results });
    }
    const ids = Array.isArray(body.webhookIds) ? body.webhookIds.map(Number) : [];
    if (path === '/rest/api/3/webhook/refresh' && method === 'PUT') {
      const expiresAt = this.now() + LIFETIME_MS;
      for (const id of ids) {
        const hook = site.hooks.get(id);
        if (hook && hook.expiresAt > this.now()) hook.expiresAt = expiresAt;
      }
      this.ops.push({ op: 'refresh', cloudId, ids });
      return send(res, 200, { expirationDate: jiraDate(expiresAt) });
    }
    if (path === '/rest/api/3/webhook' && method === 'DELETE') {
      if (ids.length === 0) return send(res, 400, { errorMessages: ['webhookIds must not be empty'] });
      for (const id of ids) site.hooks.delete(id);
      this.ops.push({ op: 'delete', cloudId, ids });
      return send(res, 202);
    }
    if (path === '/rest/api/3/webhook/failed') return send(res, 403, { errorMessages: ['Only Connect apps can use this operation.'] });
    return send(res, 404, { errorMessages: ['not found'] });
  }

  /** A signed HS256 JWT as Jira sends it; `secret`/`exp`/`alg` overridable for forgeries. */
  async jwt(options: { secret?: string; expSeconds?: number | null; alg?: 'HS256' | 'HS512' } = {}): Promise<string> {
    const nowS = Math.floor(this.now() / 1000);
    const jwt = new SignJWT({ context: {} }).setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' }).setIssuedAt(nowS);
    if (options.expSeconds !== null) jwt.setExpirationTime(nowS + (options.expSeconds ?? 180));
    return jwt.sign(new TextEncoder().encode(options.secret ?? this.clientSecret()));
  }

  /**
   * The delivery Jira would send for `event` on the site, or null when no live webhook matches
   * (JQL is not evaluated: tests choose events that match).
   */
  async delivery(cloudId: string, event: string, options: { deliveryId?: string; issueKey?: string; data?: Record<string, unknown>; retry?: number } = {}): Promise<FakeDelivery | null> {
    const hooks = this.live(cloudId).filter((h) => h.events.includes(event));
    if (hooks.length === 0) return null;
    const deliveryId = options.deliveryId ?? randomUUID();
    const site = hooks[0].siteUrl;
    const key = options.issueKey ?? 'ABC-1';
    const body = JSON.stringify({
      timestamp: this.now(),
      webhookEvent: event,
      matchedWebhookIds: hooks.map((h) => h.id),
      issue: { id: '10001', key, self: `${site}/rest/api/2/issue/10001`, fields: { summary: `Issue ${key}`, project: { key: key.split('-')[0] } } },
      user: { self: `${site}/rest/api/2/user?accountId=557058:abc`, accountId: '557058:abc' },
      ...(options.data ?? {}),
    });
    return {
      deliveryId,
      matchedWebhookIds: hooks.map((h) => h.id),
      body,
      headers: {
        authorization: `Bearer ${await this.jwt()}`,
        'content-type': 'application/json',
        'x-atlassian-webhook-identifier': deliveryId,
        'x-atlassian-webhook-flow': 'Primary',
        ...(options.retry ? { 'x-atlassian-webhook-retry': String(options.retry) } : {}),
      },
    };
  }

  /** Posts a delivery to a real URL (a listening app), as Jira does. */
  async deliverTo(url: string, delivery: FakeDelivery): Promise<{ status: number; body: string }> {
    const res = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body });
    return { status: res.status, body: await res.text() };
  }
}
