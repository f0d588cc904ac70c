import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { Clock } from '../common/clock.js';
import { JiraIntegration, KEEP_UPDATED_AT } from '../entities/jira-integration.entity.js';
import { JobRunner } from '../jobs/job-runner.js';
import { NotificationOutbox } from '../notifications/notification-outbox.js';
import { NotificationType } from '../notifications/notification-types.js';
import { AtlassianApiError, AtlassianGateway, parseRetryAfter } from '../atlassian/atlassian.gateway.js';
import { JiraError } from '../jira.errors.js';
import { JiraTokenManager } from '../tokens/jira-token-manager.service.js';
import { readReportAnswer, REPORT_BATCH_LIMIT, retryDelayMs, type ReportOutcome, type ReportedAccount } from './personal-data-report.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraSettings } from '../config/jira.config.js';

const DAY_MS = 24 * 60 * 60_000;
/** Batches per run (90 accounts each), so one hourly run stays bounded. */
const MAX_BATCHES_PER_RUN = 100;
const MAX_ATTEMPTS = 5;
const BACKOFF_MS = 1_000;
const HOUR_MS = 60 * 60_000;

interface ClaimedRow {
  id: string;
  team_id: string;
  status: string;
  scopes: string[] | string | null;
  atlassian_account_id: string;
  updated_at: Date | string;
}

export interface PersonalDataReport {
  /** Accounts reported, per request (at most 90 each). */
  batches: number[];
  closed: string[];
  updated: string[];
  /** Batches given up for this run (deadline, refusal, or no usable token); retried on a later run. */
  failed: number;
}

const hasScope = (scopes: ClaimedRow['scopes'], scope: string): boolean =>
  (Array.isArray(scopes) ? scopes : String(scopes ?? '').replace(/^\{|\}$/g, '').split(',')).includes(scope);

/**
 * Atlassian requires apps that store personal data to report the account ids they hold, at least
 * weekly, and to erase (`closed`) or refresh (`updated`) what the answer says. Hourly on one
 * instance of the fleet (a periodic job of the module's job runner, jobs/job-runner.ts; only with
 * Atlassian configured), this claims up to 90 accounts not reported for
 * JIRA_PERSONAL_DATA_REPORT_DAYS under a lease column (as the webhook renewal job claims
 * registrations: no lock is held while Atlassian answers, a crashed instance's claim lapses), posts
 * them with a total deadline per call honouring Retry-After, applies the answer and marks them
 * reported. A batch that fails is released and retried on a later run.
 */
@Injectable()
export class PersonalDataReportJob implements OnApplicationBootstrap {
  private readonly logger = new Logger(PersonalDataReportJob.name);

  private readonly config: JiraSettings;
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly gateway: AtlassianGateway,
    private readonly tokens: JiraTokenManager,
    private readonly outbox: NotificationOutbox,
    private readonly clock: Clock,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    private readonly runner: JobRunner,
  ) {
    this.config = settings.jira;
  }

  onApplicationBootstrap(): void {
    if (!this.config.configured) return;
    this.runner.every({ name: 'jira-personal-data-report', everyMs: HOUR_MS, run: () => this.scheduled() });
  }

  /** The runner's run: a failure is recorded on the job (and retried with backoff). */
  async scheduled(): Promise<void> {
    const r = await this.runOnce();
    if (r.batches.length > 0 || r.failed > 0) {
      this.logger.log(`personal-data report: ${r.batches.reduce((a, b) => a + b, 0)} account(s) reported, `
        + `${r.closed.length} closed, ${r.updated.length} updated, ${r.failed} batch(es) failed`);
    }
  }

  async runOnce(): Promise<PersonalDataReport> {
    const report: PersonalDataReport = { batches: [], closed: [], updated: [], failed: 0 };
    while (report.batches.length + report.failed < MAX_BATCHES_PER_RUN) {
      const rows = await this.claim();
      if (rows.length === 0) break;
      const ok = await this.reportBatch(rows, report);
      if (!ok) {
        report.failed += 1;
        await this.setOnRows(rows, { accountReportLeaseUntil: null });
        break; // Atlassian is refusing or slow: the rest waits for the next run.
      }
    }
    return report;
  }

  /** Leases the rows of up to 90 distinct accounts due for a report. */
  private async claim(): Promise<ClaimedRow[]> {
    const now = this.clock.now();
    const dueBefore = new Date(now.getTime() - this.config.personalDataReportDays * DAY_MS);
    const leaseUntil = new Date(now.getTime() + 2 * this.config.personalDataCallDeadlineMs + 60_000);
    const accounts = this.dataSource.createQueryBuilder()
      .subQuery()
      .select('due.atlassianAccountId')
      .from(JiraIntegration, 'due')
      .where('due.atlassianAccountId IS NOT NULL AND (due.accountReportedAt IS NULL OR due.accountReportedAt <= :dueBefore)', { dueBefore })
      .andWhere('(due.accountReportLeaseUntil IS NULL OR due.accountReportLeaseUntil <= :now)', { now })
      .groupBy('due.atlassianAccountId')
      .orderBy(`min(COALESCE(due.accountReportedAt, 'epoch'::timestamptz))`)
      .addOrderBy('due.atlassianAccountId')
      .limit(REPORT_BATCH_LIMIT);
    const { raw } = await this.dataSource.createQueryBuilder()
      .update(JiraIntegration)
      .set({ accountReportLeaseUntil: leaseUntil, ...KEEP_UPDATED_AT })
      .where(`atlassian_account_id IN ${accounts.getQuery()}`)
      .andWhere('(account_report_lease_until IS NULL OR account_report_lease_until <= :now)')
      .setParameters(accounts.getParameters())
      .returning('id, team_id, status, scopes, atlassian_account_id, COALESCE(account_updated_at, connected_at, created_at) AS updated_at')
      .execute();
    return raw as ClaimedRow[];
  }

  /** True when Atlassian answered and the answer was applied. */
  private async reportBatch(rows: ClaimedRow[], report: PersonalDataReport): Promise<boolean> {
    const accounts = toReported(rows);
    const token = await this.anyAccessToken(rows);
    if (token === null) {
      this.logger.warn('personal-data report skipped: no connected integration has a usable token');
      return false;
    }
    const outcome = await this.post(token, accounts);
    if (outcome.kind !== 'answered') {
      this.logger.warn(`personal-data report of ${accounts.length} account(s) not done: ${outcome.kind === 'refused'
        ? `Atlassian answered ${outcome.httpStatus}` : 'Atlassian kept failing within the deadline'}; retried on a later run`);
      return false;
    }
    report.batches.push(accounts.length);
    for (const answer of outcome.accounts) {
      const ofAccount = rows.filter((r) => r.atlassian_account_id === answer.accountId);
      if (answer.status === 'closed') {
        await this.erase(answer.accountId);
        report.closed.push(answer.accountId);
      } else {
        await this.refresh(answer.accountId, ofAccount);
        report.updated.push(answer.accountId);
      }
    }
    await this.setOnRows(rows, { accountReportedAt: this.clock.now(), accountReportLeaseUntil: null });
    return true;
  }

  /** One request, retried on 429/5xx/network errors within the total deadline. */
  private async post(token: string, accounts: ReportedAccount[]): Promise<ReportOutcome> {
    const started = Date.now();
    const deadline = this.config.personalDataCallDeadlineMs;
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - (Date.now() - started);
      let outcome: ReportOutcome;
      try {
        const res = await this.gateway.reportAccounts(token, accounts, Math.max(1, remaining));
        outcome = readReportAnswer(res.status, res.data, accounts.map((a) => a.accountId), parseRetryAfter(res.headers['retry-after']));
      } catch (err) {
        if (!(err instanceof AtlassianApiError)) throw err;
        outcome = { kind: 'transient' };
      }
      if (outcome.kind !== 'transient') return outcome;
      const wait = retryDelayMs(outcome, attempt, Date.now() - started, deadline, BACKOFF_MS, MAX_ATTEMPTS);
      if (wait === null) return outcome;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /**
   * Atlassian's endpoint takes any access token of the app. Prefer the batch's own connections,
   * then any connected one; a token that cannot be had (dead grant) is skipped.
   */
  private async anyAccessToken(rows: ClaimedRow[]): Promise<string | null> {
    const own = rows.filter((r) => r.status === 'connected').map((r) => r.team_id);
    const others = await this.dataSource.getRepository(JiraIntegration).createQueryBuilder('i')
      .select('i.teamId', 'team_id')
      .where(`i.status = 'connected' AND i.refreshToken IS NOT NULL`)
      .orderBy('i.lastRefreshedAt', 'DESC', 'NULLS LAST')
      .limit(3)
      .getRawMany<{ team_id: string }>();
    for (const teamId of [...new Set([...own.slice(0, 3), ...others.map((o) => o.team_id)])]) {
      try {
        return await this.tokens.getAccessToken(teamId);
      } catch (err) {
        if (!(err instanceof JiraError)) throw err;
      }
    }
    return null;
  }

  /**
   * `closed`: erases what we hold of the account (id and name) everywhere, and tells each team
   * (`connector_account_closed`, without the erased id). Tokens stay: a closed account's grant
   * dies at Atlassian, and the next refresh makes the connection reauthorization_required.
   */
  private async erase(accountId: string): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      const { raw } = await em.createQueryBuilder().update(JiraIntegration)
        .set({ atlassianAccountId: null, atlassianAccountName: null, accountUpdatedAt: null, ...KEEP_UPDATED_AT })
        .where('atlassian_account_id = :accountId', { accountId })
        .returning('team_id, cloud_id, connected_by_user_id')
        .execute();
      const teams = raw as { team_id: string; cloud_id: string | null; connected_by_user_id: string | null }[];
      for (const t of teams) {
        await this.outbox.enqueue(em, { type: NotificationType.ConnectorAccountClosed, teamId: t.team_id,
          data: { cloudId: t.cloud_id, connectedByUserId: t.connected_by_user_id } });
      }
    });
  }

  /**
   * `updated`: reads /me again with a token of a connection that has `read:me` (the only way we
   * came to hold the id). When none can, the stored name is dropped rather than kept stale; the
   * id stays, so updatedAt moves on either way.
   */
  private async refresh(accountId: string, rows: ClaimedRow[]): Promise<void> {
    let name: string | null = null;
    for (const row of rows.filter((r) => r.status === 'connected' && hasScope(r.scopes, 'read:me'))) {
      try {
        const me = await this.gateway.me(await this.tokens.getAccessToken(row.team_id));
        if (me?.accountId === accountId) {
          name = me.name ?? null;
          break;
        }
      } catch (err) {
        if (!(err instanceof JiraError) && !(err instanceof AtlassianApiError)) throw err;
      }
    }
    await this.dataSource.createQueryBuilder().update(JiraIntegration)
      .set({ atlassianAccountName: name, accountUpdatedAt: this.clock.now(), ...KEEP_UPDATED_AT })
      .where('atlassian_account_id = :accountId', { accountId })
      .execute();
  }

  /** Sets report columns on the claimed rows (releasing or completing their lease). */
  private async setOnRows(rows: ClaimedRow[], values: Pick<QueryDeepPartialEntity<JiraIntegration>, 'accountReportedAt' | 'accountReportLeaseUntil'>): Promise<void> {
    await this.dataSource.createQueryBuilder().update(JiraIntegration)
      .set({ ...values, ...KEEP_UPDATED_AT })
      .where('id = ANY(CAST(:ids AS uuid[]))', { ids: rows.map((r) => r.id) })
      .execute();
  }
}

/** One entry per account, with the newest updatedAt among its rows. */
function toReported(rows: ClaimedRow[]): ReportedAccount[] {
  const latest = new Map<string, number>();
  for (const r of rows) {
    const at = new Date(r.updated_at).getTime();
    latest.set(r.atlassian_account_id, Math.max(latest.get(r.atlassian_account_id) ?? 0, at));
  }
  return [...latest].map(([accountId, at]) => ({ accountId, updatedAt: new Date(at).toISOString() }));
}
