import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Cron, CronExpression } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../../../common/clock.js';
import { jiraConfig } from '../../../config/jira.config.js';
import { JiraIntegration } from '../entities/jira-integration.entity.js';
import { JiraTokenManager, type LockedRefreshResult } from './jira-token-manager.service.js';

const DAY_MS = 24 * 60 * 60_000;
/** Upper bound of refreshes per run, so one run never hammers Atlassian. */
const MAX_PER_RUN = 200;

export interface KeepAliveReport {
  /** Integration ids this runner claimed, in order. */
  claimed: string[];
  refreshed: number;
  failed: number;
}

/**
 * Atlassian expires a refresh token after 90 days without use. Every hour, this refreshes the
 * connected integrations whose refresh token has been idle longer than JIRA_KEEPALIVE_DAYS.
 * Each row is claimed with `FOR UPDATE SKIP LOCKED` and refreshed inside that transaction, so
 * several instances running the job at once never refresh the same integration, and a
 * getAccessToken call for that team waits for the lock and then finds the fresh token.
 */
@Injectable()
export class JiraKeepAliveJob {
  private readonly logger = new Logger(JiraKeepAliveJob.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tokens: JiraTokenManager,
    private readonly clock: Clock,
    @Inject(jiraConfig.KEY) private readonly config: ConfigType<typeof jiraConfig>,
  ) {}

  @Cron(CronExpression.EVERY_HOUR, { name: 'jira-keepalive' })
  async scheduled(): Promise<void> {
    if (!this.config.configured) return;
    try {
      const report = await this.runOnce();
      if (report.claimed.length > 0) this.logger.log(`Jira keep-alive: ${report.refreshed} refreshed, ${report.failed} failed`);
    } catch (err) {
      this.logger.error(`Jira keep-alive run failed: ${(err as Error).message}`);
    }
  }

  /** One pass: claim, refresh and commit idle integrations one at a time until none is left. */
  async runOnce(): Promise<KeepAliveReport> {
    const report: KeepAliveReport = { claimed: [], refreshed: 0, failed: 0 };
    const cutoff = new Date(this.clock.nowMs() - this.config.keepAliveDays * DAY_MS);
    while (report.claimed.length < MAX_PER_RUN) {
      const result = await this.dataSource.transaction(async (em) => {
        const row = await em.getRepository(JiraIntegration).createQueryBuilder('i')
          .where(`i.status = 'connected' AND i.refresh_token IS NOT NULL`)
          .andWhere('COALESCE(i.last_refreshed_at, i.connected_at) < :cutoff', { cutoff })
          // Rows that failed earlier in this run wait for the next run.
          .andWhere('NOT (i.id = ANY(:seen))', { seen: report.claimed })
          .orderBy('COALESCE(i.last_refreshed_at, i.connected_at)', 'ASC')
          .limit(1)
          .setLock('pessimistic_write')
          .setOnLocked('skip_locked')
          .getOne();
        if (!row) return null;
        return { id: row.id, outcome: await this.tokens.refreshLocked(em, row) };
      });
      if (!result) break;
      report.claimed.push(result.id);
      this.tokens.afterCommit(result.outcome);
      if (succeeded(result.outcome)) report.refreshed += 1;
      else report.failed += 1;
    }
    return report;
  }
}

const succeeded = (r: LockedRefreshResult): boolean => r.kind === 'token';
