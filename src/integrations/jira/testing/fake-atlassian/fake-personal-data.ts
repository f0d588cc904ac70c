import type { IncomingMessage, ServerResponse } from 'node:http';

/*
 * Atlassian's personal-data reporting API for OAuth 2.0 (3LO) apps: POST /app/report-accounts/
 * with `{accounts: [{accountId, updatedAt}]}`, at most 90 per request. 200 with
 * `{accounts: [{accountId, status: 'closed' | 'updated'}]}` for the accounts that need action,
 * 204 when none does; a `Cycle-Period` header (seconds) recommends how often to report. Tests
 * script the answers per account and inject 429s with Retry-After; every request is recorded.
 */

export interface ReportRequestRecord {
  /** Date.now() when it arrived. */
  at: number;
  status: number;
  accounts: { accountId: string; updatedAt: string }[];
}

const MAX_ACCOUNTS = 90;
const WEEK_SECONDS = 7 * 24 * 3600;

export class FakePersonalDataReporting {
  readonly requests: ReportRequestRecord[] = [];
  /** What the next answers say per account; accounts not listed need nothing. */
  readonly answers = new Map<string, 'closed' | 'updated'>();
  cyclePeriodSeconds = WEEK_SECONDS;
  private readonly faults: { status: number; retryAfter?: string }[] = [];

  /** Scripted answers (e.g. 429 with Retry-After) for the next requests, in order. */
  failNext(...faults: { status: number; retryAfter?: string }[]): void {
    this.faults.push(...faults);
  }

  /** Every account id ever reported, in order. */
  reportedIds(): string[] {
    return this.requests.filter((r) => r.status === 200 || r.status === 204).flatMap((r) => r.accounts.map((a) => a.accountId));
  }

  async handle(req: IncomingMessage, res: ServerResponse, authorized: boolean): Promise<void> {
    const raw = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    const record: ReportRequestRecord = { at: Date.now(), status: 0, accounts: [] };
    this.requests.push(record);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (!authorized) return send(401, { code: 401, message: 'Unauthorized' });
    let accounts: unknown;
    try {
      accounts = (JSON.parse(raw) as { accounts?: unknown }).accounts;
    } catch {
      return send(400, { message: 'body is not JSON' });
    }
    const valid = Array.isArray(accounts) && accounts.length >= 1 && accounts.length <= MAX_ACCOUNTS
      && accounts.every((a: Record<string, unknown>) => typeof a?.accountId === 'string'
        && typeof a.updatedAt === 'string' && !Number.isNaN(Date.parse(a.updatedAt)));
    if (!valid) return send(400, { message: `accounts must list 1 to ${MAX_ACCOUNTS} {accountId, updatedAt}` });
    record.accounts = accounts as ReportRequestRecord['accounts'];
    const fault = this.faults.shift();
    if (fault) return send(fault.status, { message: 'scripted fault' }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    const cycle = { 'cycle-period': String(this.cyclePeriodSeconds) };
    const due = record.accounts.flatMap((a) => {
      const status = this.answers.get(a.accountId);
      return status ? [{ accountId: a.accountId, status }] : [];
    });
    if (due.length === 0) return send(204, undefined, cycle);
    send(200, { accounts: due }, cycle);
  }
}
