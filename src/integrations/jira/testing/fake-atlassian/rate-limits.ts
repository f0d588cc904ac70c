/*
 * Atlassian's 2026 Jira rate limits, as the fake enforces them (developer.atlassian.com/cloud/jira/
 * platform/rate-limiting): an hourly points quota per tenant and a global pool per app, a
 * per-second burst limit per tenant + endpoint + method, and a per-issue write limit. Every call
 * costs 1 point (Atlassian: 1 base point, plus points per object for reads). Windows are fixed and
 * shortened so tests and benchmarks see them reset. Headers as Atlassian sends them:
 * X-RateLimit-Limit/-Remaining (the burst budget), X-RateLimit-NearLimit (< 20 % of any budget),
 * Beta-RateLimit-Policy and Beta-RateLimit (quota, remaining, seconds to reset), and on a 429
 * Retry-After, X-RateLimit-Reset (ISO 8601) and RateLimit-Reason.
 */

export interface FakeRateLimitOptions {
  /** Requests per second per tenant + endpoint family + method. */
  burstPerSecond?: number;
  /** Points per quota window per tenant (site). */
  tenantQuota?: number;
  /** Points per quota window for the whole app, all tenants together. */
  globalQuota?: number;
  /** Quota window (Atlassian: an hour). */
  windowMs?: number;
  /** Writes per second to one issue. */
  issueWritesPerSecond?: number;
}

export interface FakeRateLimitRecord {
  at: number;
  cloudId: string;
  method: string;
  path: string;
  status: number;
  reason?: string;
}

export const TENANT_POLICY = 'tenant-app-quota';
export const GLOBAL_POLICY = 'global-app-quota';

const family = (method: string, path: string): string =>
  `${method} ${path.split('?')[0].replace(/\/(\d+|[A-Z][A-Z0-9_]+-\d+)(?=\/|$)/g, '/{id}')}`;

export class FakeRateLimits {
  readonly burstPerSecond: number;
  readonly tenantQuota: number;
  readonly globalQuota: number;
  readonly windowMs: number;
  readonly issueWritesPerSecond: number;
  /** Every Jira call the fake saw while limiting, in arrival order. */
  readonly log: FakeRateLimitRecord[] = [];
  private readonly used = new Map<string, number>();
  private readonly scripted: { cloudId: string; reason: string; retryAfterS: number }[] = [];

  constructor(options: FakeRateLimitOptions = {}) {
    this.burstPerSecond = options.burstPerSecond ?? 10;
    this.tenantQuota = options.tenantQuota ?? 1000;
    this.globalQuota = options.globalQuota ?? 5000;
    this.windowMs = options.windowMs ?? 3_600_000;
    this.issueWritesPerSecond = options.issueWritesPerSecond ?? 2;
  }

  /** The next call of `cloudId` is answered 429 with this reason and Retry-After, whatever the counters say. */
  scriptNext(cloudId: string, reason: string, retryAfterS: number): void {
    this.scripted.push({ cloudId, reason, retryAfterS });
  }

  /** Counts the call and answers the headers to send, with 429 and a reason when a limit is exceeded. */
  check(cloudId: string, method: string, path: string, now = Date.now()): { status: number; headers: Record<string, string> } {
    const second = Math.floor(now / 1000);
    const win = Math.floor(now / this.windowMs);
    const windowEnd = (win + 1) * this.windowMs;
    const burstKey = `b:${second}:${cloudId}:${family(method, path)}`;
    const tenantKey = `t:${win}:${cloudId}`;
    const globalKey = `g:${win}`;
    const issue = method !== 'GET' ? /^\/rest\/api\/[23]\/issue\/([^/?]+)/.exec(path)?.[1] : undefined;
    const issueKey = issue ? `i:${second}:${cloudId}:${issue}` : undefined;
    const count = (k: string): number => this.used.get(k) ?? 0;

    let reason: string | undefined;
    let retryAtMs = 0;
    const script = this.scripted.findIndex((x) => x.cloudId === cloudId);
    if (script >= 0) [reason, retryAtMs] = [this.scripted[script].reason, now + this.scripted.splice(script, 1)[0].retryAfterS * 1000];
    else if (count(globalKey) >= this.globalQuota) [reason, retryAtMs] = ['jira-quota-global-based', windowEnd];
    else if (count(tenantKey) >= this.tenantQuota) [reason, retryAtMs] = ['jira-quota-tenant-based', windowEnd];
    else if (count(burstKey) >= this.burstPerSecond) [reason, retryAtMs] = ['jira-burst-based', (second + 1) * 1000];
    else if (issueKey && count(issueKey) >= this.issueWritesPerSecond) [reason, retryAtMs] = ['jira-per-issue-on-write', (second + 1) * 1000];
    if (!reason) for (const k of [globalKey, tenantKey, burstKey, ...(issueKey ? [issueKey] : [])]) this.used.set(k, count(k) + 1);
    if (this.used.size > 50_000) this.prune(second, win);

    const tenantLeft = Math.max(0, this.tenantQuota - count(tenantKey));
    const globalLeft = Math.max(0, this.globalQuota - count(globalKey));
    const burstLeft = Math.max(0, this.burstPerSecond - count(burstKey));
    const resetS = Math.max(0, Math.ceil((windowEnd - now) / 1000));
    const near = tenantLeft < this.tenantQuota * 0.2 || globalLeft < this.globalQuota * 0.2 || burstLeft < this.burstPerSecond * 0.2;
    const headers: Record<string, string> = {
      'x-ratelimit-limit': String(this.burstPerSecond),
      'x-ratelimit-remaining': String(burstLeft),
      'beta-ratelimit-policy': `"${TENANT_POLICY}";q=${this.tenantQuota};w=${Math.round(this.windowMs / 1000)}, "${GLOBAL_POLICY}";q=${this.globalQuota};w=${Math.round(this.windowMs / 1000)}`,
      'beta-ratelimit': `"${TENANT_POLICY}";r=${tenantLeft};t=${resetS}, "${GLOBAL_POLICY}";r=${globalLeft};t=${resetS}`,
      ...(near ? { 'x-ratelimit-nearlimit': 'true' } : {}),
    };
    const status = reason ? 429 : 200;
    if (reason) {
      headers['retry-after'] = String(Math.max(1, Math.ceil((retryAtMs - now) / 1000)));
      headers['x-ratelimit-reset'] = new Date(retryAtMs).toISOString();
      headers['ratelimit-reason'] = reason;
    }
    this.log.push({ at: now, cloudId, method, path, status, reason });
    return { status, headers };
  }

  /** 429s received, in all or for one tenant. */
  rejected(cloudId?: string): FakeRateLimitRecord[] {
    return this.log.filter((r) => r.status === 429 && (!cloudId || r.cloudId === cloudId));
  }

  private prune(second: number, win: number): void {
    for (const k of this.used.keys()) {
      const [kind, at] = k.split(':');
      if ((kind === 'b' || kind === 'i') ? Number(at) < second : Number(at) < win) this.used.delete(k);
    }
  }
}
