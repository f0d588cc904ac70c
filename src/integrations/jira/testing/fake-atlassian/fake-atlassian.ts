import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ConsentDecision, readConsentDecision, sendConsentPage } from './consent-page.js';
import type { FakeRateLimits } from './rate-limits.js';
import { FakeJiraWebhooks } from './fake-webhooks.js';
import { FakePersonalDataReporting } from './fake-personal-data.js';

/*
 * A strict stand-in for auth.atlassian.com and api.atlassian.com, started by the tests on
 * 127.0.0.1. It behaves as Atlassian documents (shared/design/atlassian-oauth-facts.md):
 * JSON token bodies, rotating refresh tokens with a reuse window after which a reused token
 * revokes the whole grant (403 invalid_grant), accessible-resources, /me, the Jira gateway and
 * the personal-data reporting API (fake-personal-data.ts), and service accounts' OAuth 2.0
 * credentials (grant_type=client_credentials: a 60-minute access token, no refresh token).
 */

export interface FakeSite {
  id: string;
  url: string;
  name: string;
  scopes: string[];
  avatarUrl?: string;
}

export interface FakeAccount {
  accountId: string;
  name: string;
  email: string;
  sites: FakeSite[];
}

/** A scripted answer for the next token request(s), for fault injection. */
export interface TokenFault {
  status: number;
  body?: unknown;
  retryAfter?: string;
  /** Hang up without answering. */
  destroy?: boolean;
  /** Only for this grant type (default: any). */
  grant?: 'authorization_code' | 'refresh_token' | 'client_credentials';
}

interface Grant {
  id: string;
  account: FakeAccount;
  scopes: string[];
  revoked: boolean;
  current: string | null;
}

/** A service account's OAuth 2.0 credential, as an organisation admin created it. */
export interface FakeServiceAccount {
  clientId: string;
  clientSecret: string;
  account: FakeAccount;
  scopes: string[];
  /** Deleted (or its secret rotated) at Atlassian: the token endpoint answers invalid_client. */
  revoked: boolean;
}

interface RefreshRecord {
  grant: Grant;
  /** When it was rotated away (exchanged); null while it is the grant's current token. */
  rotatedAt: number | null;
}

interface AccessRecord {
  grant: Grant;
  expiresAt: number;
}

export interface FakeAtlassianOptions {
  clientId?: string;
  clientSecret?: string;
  redirectUri?: string;
  /** Lifetime of issued access tokens. */
  expiresInSeconds?: number;
  /** Atlassian's leeway for reusing a rotated refresh token (10 minutes). */
  reuseWindowMs?: number;
  /** Delay before answering token requests. */
  tokenLatencyMs?: number;
  /** Code lifetime (Atlassian: about 10 minutes). */
  codeTtlMs?: number;
  /** Delay between issuing refreshed tokens (rotation done) and sending them: a crash window. */
  refreshResponseDelayMs?: number;
  /** Show a consent page (Accept / Decline) at /authorize instead of approving at once. */
  consentPage?: boolean;
}

export interface TokenRequestRecord {
  grant: string;
  status: number;
  contentType: string | undefined;
  /** The refresh token presented (test-side only: this fake lives in the test process). */
  refreshToken?: string;
  /** The client id presented (tells service accounts' mints apart). */
  clientId?: string;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const opaque = (prefix: string): string => `${prefix}-${randomBytes(18).toString('base64url')}`;

export class FakeAtlassian {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  expiresInSeconds: number;
  reuseWindowMs: number;
  tokenLatencyMs: number;
  codeTtlMs: number;
  refreshResponseDelayMs: number;
  readonly consentPage: boolean;

  /** The account the next /authorize consents as. */
  account: FakeAccount;
  /** When set, /authorize redirects back with `error=<value>` instead of a code. */
  denyWith: string | null = null;

  /**
   * Runs once a refresh has rotated the grant, before the answer goes out; answering true means it
   * took over the response (see test/fake-atlassian/token-faults.ts: lose or delay the answer).
   */
  afterRotation?: (req: IncomingMessage, res: ServerResponse, record: TokenRequestRecord, body: Record<string, unknown>) => Promise<boolean>;

  readonly tokenRequests: TokenRequestRecord[] = [];
  readonly apiRequests: { path: string; status: number }[] = [];
  /** Every request this fake received, as it arrived (method, raw target, headers): what a proxy let through. */
  readonly requestLog: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  /** Scripted Jira answers by method and path (`GET /rest/api/3/issue/X-1`); others echo the request. */
  readonly jiraAnswers = new Map<string, { status: number; body: string; headers?: Record<string, string> }>();
  /** When set, Jira calls are counted against Atlassian's rate limits (see rate-limits.ts). */
  rateLimits: FakeRateLimits | null = null;
  /** Jira's dynamic webhooks and signed deliveries (fake-webhooks.ts). */
  readonly webhooks = new FakeJiraWebhooks(() => this.clientSecret);
  /** The personal-data reporting API (fake-personal-data.ts). */
  readonly personalData = new FakePersonalDataReporting();
  private readonly serviceAccounts = new Map<string, FakeServiceAccount & { grant: Grant }>();
  private readonly faults: TokenFault[] = [];
  private readonly apiFaults: { status: number; retryAfter?: string }[] = [];
  private readonly codes = new Map<string, { grant: Grant; redirectUri: string; expiresAt: number; used: boolean }>();
  private readonly refreshTokens = new Map<string, RefreshRecord>();
  private readonly accessTokens = new Map<string, AccessRecord>();
  private server?: Server;
  private baseUrl = '';

  constructor(options: FakeAtlassianOptions = {}) {
    this.clientId = options.clientId ?? 'fake-client-id';
    this.clientSecret = options.clientSecret ?? `fake-secret-${randomBytes(8).toString('hex')}`;
    this.redirectUri = options.redirectUri ?? 'http://127.0.0.1/api/integrations/jira/oauth/callback';
    this.expiresInSeconds = options.expiresInSeconds ?? 3600;
    this.reuseWindowMs = options.reuseWindowMs ?? 10 * 60_000;
    this.tokenLatencyMs = options.tokenLatencyMs ?? 0;
    this.codeTtlMs = options.codeTtlMs ?? 10 * 60_000;
    this.refreshResponseDelayMs = options.refreshResponseDelayMs ?? 0;
    this.consentPage = options.consentPage ?? false;
    this.account = FakeAtlassian.account('acme', 1);
  }

  /** An account with `siteCount` sites: acme.atlassian.net, acme-2.atlassian.net, ... */
  static account(name: string, siteCount: number): FakeAccount {
    const sites = Array.from({ length: siteCount }, (_, i) => {
      const host = i === 0 ? name : `${name}-${i + 1}`;
      return {
        id: `cloud-${host}-${randomBytes(4).toString('hex')}`,
        url: `https://${host}.atlassian.net`,
        name: host,
        scopes: ['read:jira-user', 'read:jira-work'],
        avatarUrl: `https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/${host}.png`,
      };
    });
    return { accountId: `acct-${name}-${randomBytes(4).toString('hex')}`, name: `${name} user`, email: `${name}@example.test`, sites };
  }

  get url(): string {
    return this.baseUrl;
  }

  /** Env for an app that should talk to this fake. */
  env(redirectUri = this.redirectUri): Record<string, string> {
    return {
      JIRA_CLIENT_ID: this.clientId,
      JIRA_CLIENT_SECRET: this.clientSecret,
      JIRA_REDIRECT_URI: redirectUri,
      JIRA_AUTH_BASE_URL: this.baseUrl,
      JIRA_API_BASE_URL: this.baseUrl,
    };
  }

  /** Listens on 127.0.0.1, on `port` (default: one the OS picks). */
  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => json(res, 500, { error: 'fake_failure', message: String(err) }));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** Scripted answers for the next token requests, in order. */
  failNextTokenRequests(...faults: TokenFault[]): void {
    this.faults.push(...faults);
  }

  /** Scripted answers for the next Jira REST calls. */
  failNextApiRequests(...faults: { status: number; retryAfter?: string }[]): void {
    this.apiFaults.push(...faults);
  }

  /** Successful refresh_token exchanges (what "exactly one refresh" counts). */
  get refreshCount(): number {
    return this.tokenRequests.filter((r) => r.grant === 'refresh_token' && r.status === 200).length;
  }

  /** Access tokens and refresh tokens ever issued: what must never show up in logs or the DB. */
  issuedSecrets(): string[] {
    return [...this.accessTokens.keys(), ...this.refreshTokens.keys(), ...this.codes.keys(), this.clientSecret,
      ...[...this.serviceAccounts.values()].map((s) => s.clientSecret)];
  }

  /**
   * A service account with an OAuth 2.0 credential, as an organisation admin creates one: it
   * reaches the sites it has a role on (default: a new account's one site) with the scopes chosen
   * at creation.
   */
  registerServiceAccount(options: { sites?: FakeSite[]; scopes?: string[] } = {}): FakeServiceAccount {
    const name = `svc-${randomBytes(3).toString('hex')}`;
    const account = FakeAtlassian.account(name, 1);
    if (options.sites) account.sites = options.sites;
    const scopes = options.scopes ?? ['read:jira-user', 'read:jira-work', 'write:jira-work'];
    const clientId = opaque('sa-client');
    const sa = { clientId, clientSecret: opaque('sa-secret'), account, scopes, revoked: false,
      grant: { id: opaque('grant'), account, scopes, revoked: false, current: null } };
    this.serviceAccounts.set(clientId, sa);
    return sa;
  }

  /** The credential deleted at Atlassian: mints answer 401 invalid_client (tokens already issued run out). */
  revokeServiceAccount(clientId: string): void {
    const sa = this.serviceAccounts.get(clientId);
    if (sa) sa.revoked = true;
  }

  /** client_credentials requests with this client id (any answer): what "exactly one mint" counts. */
  mintRequests(clientId: string): TokenRequestRecord[] {
    return this.tokenRequests.filter((r) => r.grant === 'client_credentials' && r.clientId === clientId);
  }

  /** Expire an access token now, as if an hour had passed. */
  expireAccessToken(token: string): void {
    const rec = this.accessTokens.get(token);
    if (rec) rec.expiresAt = 0;
  }

  /** Simulate the user removing the app in "Connected apps". */
  revokeAllGrants(): void {
    for (const rec of this.refreshTokens.values()) rec.grant.revoked = true;
  }

  /** The grant's current refresh token for a refresh token of that grant (chain check). */
  currentRefreshTokenOf(anyTokenOfGrant: string): string | null {
    return this.refreshTokens.get(anyTokenOfGrant)?.grant.current ?? null;
  }

  isGrantRevoked(anyTokenOfGrant: string): boolean {
    return this.refreshTokens.get(anyTokenOfGrant)?.grant.revoked ?? true;
  }

  /**
   * A grant as if `account` had consented (no browser round trip), with its first token pair:
   * for tests that seed a connected integration directly.
   */
  mintGrant(
    account: FakeAccount = this.account,
    scopes: string[] = ['read:jira-user', 'read:jira-work', 'offline_access'],
  ): { accessToken: string; refreshToken: string; expiresInSeconds: number; cloudId: string } {
    const grant: Grant = { id: opaque('grant'), account, scopes, revoked: false, current: null };
    const body = this.issue(grant);
    return {
      accessToken: String(body.access_token),
      refreshToken: String(body.refresh_token),
      expiresInSeconds: Number(body.expires_in),
      cloudId: account.sites[0].id,
    };
  }

  /**
   * Plays the browser's part of consent: follows an authorize URL and returns the callback URL
   * Atlassian would redirect to (with `code` and `state`, or `error`).
   */
  async consent(authorizationUrl: string): Promise<URL> {
    const res = await fetch(authorizationUrl, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status !== 302 || !location) throw new Error(`fake authorize answered ${res.status}: ${await res.text()}`);
    return new URL(location);
  }

  // --- HTTP -------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requestLog.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    const url = new URL(req.url ?? '/', this.baseUrl);
    if (req.method === 'GET' && url.pathname === '/authorize') return this.authorize(url, res);
    if (req.method === 'POST' && url.pathname === '/authorize' && this.consentPage) {
      const decision = await readConsentDecision(req);
      if (!decision) return json(res, 400, { error: 'invalid_request', invalid: ['decision'] });
      return this.authorize(url, res, decision);
    }
    if (req.method === 'POST' && url.pathname === '/oauth/token') return this.token(req, res);
    if (req.method === 'GET' && url.pathname === '/oauth/token/accessible-resources') {
      const rec = this.bearer(req);
      if (!rec) return json(res, 401, { code: 401, message: 'Unauthorized' });
      return json(res, 200, rec.grant.account.sites);
    }
    if (req.method === 'GET' && url.pathname === '/me') {
      const rec = this.bearer(req);
      if (!rec) return json(res, 401, { code: 401, message: 'Unauthorized' });
      if (!rec.grant.scopes.includes('read:me')) return json(res, 403, { code: 403, message: 'scope does not match' });
      const a = rec.grant.account;
      return json(res, 200, { account_id: a.accountId, name: a.name, email: a.email, account_status: 'active' });
    }
    if (req.method === 'POST' && url.pathname === '/app/report-accounts/') return this.personalData.handle(req, res, this.bearer(req) !== null);
    const jira = /^\/ex\/jira\/([^/]+)(\/.*)$/.exec(url.pathname);
    if (jira) return this.jiraApi(req, res, decodeURIComponent(jira[1]), jira[2], url.search);
    json(res, 404, { error: 'not_found' });
  }

  private authorize(url: URL, res: ServerResponse, decision?: ConsentDecision): void {
    const p = url.searchParams;
    const problems: string[] = [];
    if (p.get('client_id') !== this.clientId) problems.push('client_id');
    if (p.get('redirect_uri') !== this.redirectUri) problems.push('redirect_uri');
    if (p.get('response_type') !== 'code') problems.push('response_type');
    if (p.get('audience') !== 'api.atlassian.com') problems.push('audience');
    if (!p.get('state')) problems.push('state');
    if (!p.get('scope')) problems.push('scope');
    if (problems.length) return json(res, 400, { error: 'invalid_request', invalid: problems });
    if (this.consentPage && !decision) return sendConsentPage(res, url, this.account, this.clientId);
    const redirect = new URL(this.redirectUri);
    redirect.searchParams.set('state', p.get('state')!);
    const denyWith = decision === 'decline' ? 'access_denied' : this.denyWith;
    if (denyWith) {
      redirect.searchParams.set('error', denyWith);
      redirect.searchParams.set('error_description', 'The user did not authorize the app');
    } else {
      const grant: Grant = { id: opaque('grant'), account: this.account, scopes: p.get('scope')!.split(' '), revoked: false, current: null };
      const code = opaque('code');
      this.codes.set(code, { grant, redirectUri: p.get('redirect_uri')!, expiresAt: Date.now() + this.codeTtlMs, used: false });
      redirect.searchParams.set('code', code);
    }
    res.writeHead(302, { location: redirect.toString() });
    res.end();
  }

  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await new Promise<string>((resolve) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => resolve(body));
    });
    if (this.tokenLatencyMs > 0) await new Promise((r) => setTimeout(r, this.tokenLatencyMs));
    const contentType = req.headers['content-type'];
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      /* handled below */
    }
    const grantType = String(body.grant_type ?? '');
    const record: TokenRequestRecord = {
      grant: grantType,
      status: 0,
      contentType,
      refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
      clientId: typeof body.client_id === 'string' ? body.client_id : undefined,
    };
    this.tokenRequests.push(record);
    const answer = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      json(res, status, payload, headers);
    };

    const faultIndex = this.faults.findIndex((f) => !f.grant || f.grant === grantType);
    if (faultIndex >= 0) {
      const [fault] = this.faults.splice(faultIndex, 1);
      if (fault.destroy) {
        record.status = -1;
        req.socket.destroy();
        return;
      }
      return answer(fault.status, fault.body ?? { error: 'server_error' }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    }
    if (!contentType?.startsWith('application/json') || typeof body !== 'object' || body === null) {
      return answer(400, { error: 'invalid_request', error_description: 'JSON body expected' });
    }
    if (grantType === 'client_credentials') {
      // A service account's own credential, not the app's; no refresh token (no offline_access).
      const sa = this.serviceAccounts.get(String(body.client_id));
      if (!sa || sa.revoked || body.client_secret !== sa.clientSecret) {
        return answer(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
      }
      return answer(200, this.issue(sa.grant));
    }
    if (body.client_id !== this.clientId || body.client_secret !== this.clientSecret) {
      return answer(401, { error: 'access_denied', error_description: 'Unauthorized' });
    }
    if (grantType === 'authorization_code') {
      const code = this.codes.get(String(body.code));
      if (!code || code.used || code.expiresAt < Date.now() || body.redirect_uri !== code.redirectUri) {
        return answer(403, { error: 'invalid_grant', error_description: 'Invalid authorization code' });
      }
      code.used = true;
      return answer(200, this.issue(code.grant));
    }
    if (grantType === 'refresh_token') {
      const presented = String(body.refresh_token ?? '');
      const rec = this.refreshTokens.get(presented);
      const dead = { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' };
      if (!rec || rec.grant.revoked) return answer(403, dead);
      if (rec.rotatedAt !== null) {
        if (Date.now() - rec.rotatedAt > this.reuseWindowMs) {
          // Reuse outside the leeway: Atlassian invalidates the whole family.
          rec.grant.revoked = true;
          return answer(403, dead);
        }
      } else {
        rec.rotatedAt = Date.now();
      }
      const issued = this.issue(rec.grant);
      if (this.afterRotation && (await this.afterRotation(req, res, record, issued))) return;
      if (this.refreshResponseDelayMs > 0) {
        // Rotated (and counted) now; the client only learns the new tokens later.
        record.status = 200;
        await new Promise((r) => setTimeout(r, this.refreshResponseDelayMs));
        if (req.socket.destroyed) return;
      }
      return answer(200, issued);
    }
    return answer(400, { error: 'unsupported_grant_type' });
  }

  private issue(grant: Grant): Record<string, unknown> {
    const accessToken = opaque('at');
    this.accessTokens.set(accessToken, { grant, expiresAt: Date.now() + this.expiresInSeconds * 1000 });
    const body: Record<string, unknown> = {
      access_token: accessToken,
      expires_in: this.expiresInSeconds,
      token_type: 'Bearer',
      scope: grant.scopes.join(' '),
    };
    if (grant.scopes.includes('offline_access')) {
      // Rotation: the previous current token stops being current (it may be reused briefly).
      if (grant.current) {
        const previous = this.refreshTokens.get(grant.current);
        if (previous && previous.rotatedAt === null) previous.rotatedAt = Date.now();
      }
      const refreshToken = opaque('rt');
      this.refreshTokens.set(refreshToken, { grant, rotatedAt: null });
      grant.current = refreshToken;
      body.refresh_token = refreshToken;
    }
    return body;
  }

  private bearer(req: IncomingMessage): AccessRecord | null {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const rec = m ? this.accessTokens.get(m[1]) : undefined;
    if (!rec || rec.expiresAt < Date.now() || rec.grant.revoked) return null;
    return rec;
  }

  private async jiraApi(req: IncomingMessage, res: ServerResponse, cloudId: string, path: string, search = ''): Promise<void> {
    const record = { path, status: 0 };
    this.apiRequests.push(record);
    const fault = this.apiFaults.shift();
    if (fault) {
      record.status = fault.status;
      return json(res, fault.status, { errorMessages: ['scripted fault'] }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    }
    const rec = this.bearer(req);
    if (!rec) {
      record.status = 401;
      return json(res, 401, { code: 401, message: 'Unauthorized; scope does not match' });
    }
    if (!rec.grant.account.sites.some((s) => s.id === cloudId)) {
      record.status = 404;
      return json(res, 404, { errorMessages: ['Site not found for this token'] });
    }
    const limited = this.rateLimits?.check(cloudId, req.method ?? 'GET', path);
    if (limited && limited.status === 429) {
      record.status = 429;
      return json(res, 429, { errorMessages: ['Rate limit exceeded.'] }, limited.headers);
    }
    for (const [k, v] of Object.entries(limited?.headers ?? {})) res.setHeader(k, v);
    if (path.startsWith('/rest/api/3/webhook')) {
      record.status = 200;
      const site = rec.grant.account.sites.find((s) => s.id === cloudId)!;
      return void this.webhooks.handle(req, res, cloudId, path, { id: rec.grant.id, get revoked() { return rec.grant.revoked; }, siteUrl: site.url });
    }
    if (path === '/rest/api/3/myself') {
      record.status = 200;
      const a = rec.grant.account;
      return json(res, 200, { accountId: a.accountId, displayName: a.name, emailAddress: a.email, active: true });
    }
    const scripted = this.jiraAnswers.get(`${req.method} ${path}`);
    if (scripted) {
      record.status = scripted.status;
      res.writeHead(scripted.status, { 'content-type': 'application/json;charset=UTF-8', ...scripted.headers });
      return void res.end(scripted.body);
    }
    // Anything else: an echo of what arrived, so tests can see what a caller sent through.
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    record.status = 200;
    json(res, 200, {
      path, cloudId, method: req.method, query: search.replace(/^\?/, ''), contentType: req.headers['content-type'] ?? null,
      body: Buffer.concat(chunks).toString('utf8'),
    });
  }
}
