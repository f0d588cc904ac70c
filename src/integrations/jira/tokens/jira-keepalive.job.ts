import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, SelectQueryBuilder } from 'typeorm';
import { Clock } from '../common/clock.js';
import { JiraIntegration } from '../entities/jira-integration.entity.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { JobRunner } from '../jobs/job-runner.js';
import { JiraTokenManager } from './jira-token-manager.service.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraSettings } from '../config/jira.config.js';

const DAY_MS = 24 * 60 * 60_000;
/** How often the sweep runs, across all instances (a job of the runner; was an hourly cron on every instance). */
export const KEEPALIVE_EVERY_MS = 60 * 60_000;
/** Upper bound of rows per run, so one run never hammers Atlassian. */
const MAX_PER_RUN = 200;
/** Candidates read per query. */
const BATCH = 20;
/**
 * The sweep's query (rows idle since before `cutoff`, not in `seen`, whose refresh lease is free at
 * `now`); exported so the bench explains exactly this statement (jira_integrations_keepalive_idx
 * answers it: the status and refresh-token predicate and the COALESCE are the index's own).
 */
export function keepAliveCandidates(ds: DataSource, cutoff: Date, seen: string[], now: Date): SelectQueryBuilder<JiraIntegration> {
  return ds.getRepository(JiraIntegration).createQueryBuilder('i')
    .select('i.id', 'id')
    .addSelect('i.teamId', 'team_id')
    .where(`i.status IN ('connected', 'pending_site_selection') AND i.refreshToken IS NOT NULL`)
    .andWhere('COALESCE(i.lastRefreshedAt, i.connectedAt) < :cutoff', { cutoff })
    .andWhere('NOT (i.id = ANY(CAST(:seen AS uuid[])))', { seen })
    .andWhere('(i.refreshLeaseExpiresAt IS NULL OR i.refreshLeaseExpiresAt <= :now)', { now })
    .orderBy('COALESCE(i.lastRefreshedAt, i.connectedAt)', 'ASC')
    .limit(BATCH);
}

export interface KeepAliveReport {
  /** Integration ids this runner claimed (and tried to refresh), in order. */
  claimed: string[];
  refreshed: number;
  failed: number;
  /** Rows whose stored tokens cannot be decrypted (skipped, reported as jira_credentials_unreadable). */
  unreadable: number;
}

/**
 * Atlassian expires a refresh token after 90 days without use. Every hour, this refreshes the
 * integrations (connected, or still waiting for a site choice) whose refresh token has been idle
 * longer than JIRA_KEEPALIVE_DAYS: a periodic job of the module's job runner (jobs/job-runner.ts),
 * so one instance of a fleet runs each hour's sweep, and only with Atlassian configured. Each row is refreshed through the token manager's lease (no
 * lock held while Atlassian is called; several instances never refresh the same row), with the
 * same in-run retries and backoff as the hot path. One row's failure, of whatever kind, is
 * recorded on that row and never stops the run.
 */
@Injectable()
export class JiraKeepAliveJob implements OnApplicationBootstrap {
  private readonly logger = new Logger(JiraKeepAliveJob.name);

  private readonly config: JiraSettings;
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tokens: JiraTokenManager,
    private readonly clock: Clock,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    private readonly runner: JobRunner,
  ) {
    this.config = settings.jira;
  }

  onApplicationBootstrap(): void {
    if (!this.config.configured) return;
    this.runner.every({ name: 'jira-keepalive', everyMs: KEEPALIVE_EVERY_MS, run: () => this.scheduled() });
  }

  /** The runner's run: a failure is recorded on the job (and retried with backoff). */
  async scheduled(): Promise<void> {
    const r = await this.runOnce();
    if (r.claimed.length > 0) this.logger.log(`Jira keep-alive: ${r.refreshed} refreshed, ${r.failed} failed, ${r.unreadable} unreadable`);
  }

  /** One pass over the idle rows, oldest first; rows seen once wait for the next run. */
  async runOnce(): Promise<KeepAliveReport> {
    const report: KeepAliveReport = { claimed: [], refreshed: 0, failed: 0, unreadable: 0 };
    const cutoff = new Date(this.clock.nowMs() - this.config.keepAliveDays * DAY_MS);
    const seen: string[] = [];
    while (seen.length < MAX_PER_RUN) {
      const rows = await keepAliveCandidates(this.dataSource, cutoff, seen, this.clock.now()).getRawMany<{ id: string; team_id: string }>();
      if (rows.length === 0) break;
      for (const row of rows) {
        seen.push(row.id);
        await this.refreshOne(row, cutoff, report);
      }
    }
    return report;
  }

  private async refreshOne(row: { id: string; team_id: string }, cutoff: Date, report: KeepAliveReport): Promise<void> {
    try {
      const outcome = await this.tokens.refreshIdle(row.team_id, cutoff);
      if (outcome.kind === 'skipped') return; // another instance has it, or it was refreshed meanwhile
      report.claimed.push(row.id);
      if (outcome.kind === 'token') report.refreshed += 1;
      else report.failed += 1;
    } catch (err) {
      report.claimed.push(row.id);
      if (err instanceof JiraError && err.code === JiraErrorCode.CredentialsUnreadable) report.unreadable += 1;
      else report.failed += 1;
      if (!(err instanceof JiraError)) this.logger.error(`Jira keep-alive of integration ${row.id} failed: ${(err as Error).message}`);
    }
  }
}
