import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock.js';
import { JiraIntegration, KEEP_UPDATED_AT } from '../entities/jira-integration.entity.js';
import { JobRunner } from '../jobs/job-runner.js';
import { NotificationOutbox } from '../notifications/notification-outbox.js';
import { NotificationType } from '../notifications/notification-types.js';
import { consentedBefore, consentExpiresAt, daysLeft, reconsentNoticeDue } from './consent.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraSettings } from '../config/jira.config.js';

/** Rows read per query, and the bound of one run. */
const BATCH = 100;
const MAX_PER_RUN = 5_000;
const HOUR_MS = 60 * 60_000;

interface Candidate {
  id: string;
  team_id: string;
  consented_at: Date | string;
  reconsent_notice_days: number | null;
  cloud_id: string | null;
  site_url: string | null;
  connected_by_user_id: string | null;
}

export interface ReconsentNoticeReport {
  notified: { teamId: string; noticeDays: number }[];
}

/**
 * Hourly on one instance of the fleet (a periodic job of the module's job runner,
 * jobs/job-runner.ts; only with Atlassian and notifications configured): finds the integrations whose 365-day consent ends within the largest notice period and
 * records `reconsent_due` for each threshold crossed (JIRA_RECONSENT_NOTICE_DAYS, default 30 and
 * 7 days). "Exactly once per consent and threshold" is one conditional UPDATE in the transaction
 * that enqueues the notification: a second instance, or the next run, finds the threshold taken.
 * A reconnect resets the consent and the notices (JiraOAuthService's upsert).
 */
@Injectable()
export class ReconsentNoticeJob implements OnApplicationBootstrap {
  private readonly logger = new Logger(ReconsentNoticeJob.name);

  private readonly config: JiraSettings;
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: NotificationOutbox,
    private readonly clock: Clock,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    private readonly runner: JobRunner,
  ) {
    this.config = settings.jira;
  }

  onApplicationBootstrap(): void {
    // The notice is a notification: without a receiver (NOTIFY_WEBHOOK_URL) there is nothing to do.
    if (!this.config.configured || !this.outbox.enabled || this.config.reconsentNoticeDays.length === 0) return;
    this.runner.every({ name: 'jira-reconsent-notices', everyMs: HOUR_MS, run: () => this.scheduled() });
  }

  /** The runner's run: a failure is recorded on the job (and retried with backoff). */
  async scheduled(): Promise<void> {
    const r = await this.runOnce();
    if (r.notified.length > 0) this.logger.log(`reconsent_due sent for ${r.notified.length} integration(s)`);
  }

  async runOnce(): Promise<ReconsentNoticeReport> {
    const report: ReconsentNoticeReport = { notified: [] };
    const days = this.config.reconsentNoticeDays;
    if (days.length === 0) return report;
    const now = this.clock.now();
    const DAY_MS = 24 * 60 * 60_000;
    // Consent expiring within the largest notice period, and not yet expired.
    const window = [consentedBefore(new Date(now.getTime() + Math.max(...days) * DAY_MS)), consentedBefore(now)];
    const seen: string[] = [];
    while (seen.length < MAX_PER_RUN) {
      const rows = await this.dataSource.getRepository(JiraIntegration).createQueryBuilder('i')
        .select(['id', 'team_id', 'consented_at', 'reconsent_notice_days', 'cloud_id', 'site_url', 'connected_by_user_id']
          .map((c) => `i.${c} AS ${c}`))
        .where(`i.status IN ('connected', 'pending_site_selection')`)
        .andWhere('i.consentedAt <= :until AND i.consentedAt > :after', { until: window[0], after: window[1] })
        .andWhere('(i.reconsentNoticeDays IS NULL OR i.reconsentNoticeDays > :smallest)', { smallest: Math.min(...days) })
        .andWhere('NOT (i.id = ANY(CAST(:seen AS uuid[])))', { seen })
        .orderBy('i.consentedAt')
        .limit(BATCH)
        .getRawMany<Candidate>();
      if (rows.length === 0) break;
      for (const row of rows) {
        seen.push(row.id);
        await this.noticeOne(row, now, days, report);
      }
    }
    return report;
  }

  private async noticeOne(row: Candidate, now: Date, days: number[], report: ReconsentNoticeReport): Promise<void> {
    const consentedAt = new Date(row.consented_at);
    const expiresAt = consentExpiresAt(consentedAt)!;
    const due = reconsentNoticeDue(expiresAt, now, days, row.reconsent_notice_days);
    if (due === null) return;
    const sent = await this.dataSource.transaction(async (em) => {
      // Guarded by the consent it is about: a reconnect meanwhile starts a new year, with no notice due.
      const { affected } = await em.createQueryBuilder().update(JiraIntegration).set({ reconsentNoticeDays: due, ...KEEP_UPDATED_AT })
        .where('id = :id AND consented_at = :consentedAt', { id: row.id, consentedAt })
        .andWhere('(reconsent_notice_days IS NULL OR reconsent_notice_days > :due)', { due })
        .execute();
      if (!affected) return false;
      await this.outbox.enqueue(em, { type: NotificationType.ReconsentDue, teamId: row.team_id, data: {
        consentExpiresAt: expiresAt.toISOString(), daysLeft: daysLeft(expiresAt, now), noticeDays: due,
        cloudId: row.cloud_id, siteUrl: row.site_url, connectedByUserId: row.connected_by_user_id,
      } });
      return true;
    });
    if (sent) report.notified.push({ teamId: row.team_id, noticeDays: due });
  }
}
