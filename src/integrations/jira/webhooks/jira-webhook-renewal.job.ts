import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, InsertQueryBuilder, UpdateQueryBuilder } from 'typeorm';
import { Clock } from '../common/clock.js';
import { JiraIntegration } from '../entities/jira-integration.entity.js';
import { JiraWebhookRegistration } from '../entities/jira-webhook-registration.entity.js';
import { JobRunner } from '../jobs/job-runner.js';
import { JiraWebhookLifecycle, REGISTRATION_LEASE_MS } from './jira-webhook-lifecycle.service.js';
import { JiraWebhookRegistry } from './jira-webhook.registry.js';

/** Refresh whatever expires within this, whatever the check interval says (Jira: 30-day life). */
const RENEW_WITHIN_MS = 7 * 24 * 3_600_000;
const MAX_PER_RUN = 500;
/**
 * How often (at most) a process looks for connected teams with no registration row. Connects and
 * site choices add their row through the lifecycle's event handlers; this only catches one lost
 * to a crash between the commit and the handler, and it reads every integration (an anti-join:
 * no index can answer "rows with no partner"), so it runs on a process's first run and then daily
 * rather than on every run (every 5 minutes by default: 100,000 primary-key probes each time).
 */
const BACKFILL_EVERY_MS = 24 * 3_600_000;

/* The job's statements, exported so the bench explains exactly these (bench/scale.ts). */
/** A pending registration for every connected OAuth team that has none, at `now`. */
export function backfillRegistrations(ds: DataSource, now: Date): InsertQueryBuilder<JiraWebhookRegistration> {
  const missing = ds.createQueryBuilder()
    // In the entity's column order: INSERT … SELECT lists the columns in that order.
    .select('i.team_id::text').addSelect('i.cloud_id').addSelect('i.site_url').addSelect(`'pending'`)
    .addSelect(':now').addSelect(':now').addSelect(':now')
    .from(JiraIntegration, 'i')
    .where(`i.status = 'connected' AND i.cloud_id IS NOT NULL AND i.connection_type = 'oauth'`)
    .andWhere('NOT EXISTS (SELECT 1 FROM jira_webhook_registrations r WHERE r.team_id = i.team_id::text)')
    .setParameters({ now });
  return ds.createQueryBuilder()
    .insert()
    .into(JiraWebhookRegistration, ['teamId', 'cloudId', 'siteUrl', 'state', 'nextCheckAt', 'createdAt', 'updatedAt'])
    .valuesFromSelect(missing)
    .orIgnore();
}

/** Leases the next due registration: due at `at`, leased until `leaseUntil`, or expiring before `renewBefore`; not one of `taken`. */
export function claimDueRegistration(ds: DataSource, at: Date, leaseUntil: Date, renewBefore: Date, taken: string[]): UpdateQueryBuilder<JiraWebhookRegistration> {
  const due = ds.createQueryBuilder()
    .subQuery()
    .select('due.teamId')
    .from(JiraWebhookRegistration, 'due')
    .where(`(due.nextCheckAt <= :at OR (due.state = 'active' AND due.expiresAt <= :renewBefore))`, { at, renewBefore })
    .andWhere('(due.leaseUntil IS NULL OR due.leaseUntil <= :at)')
    .andWhere('NOT (due.teamId = ANY(CAST(:taken AS text[])))', { taken })
    .orderBy('due.nextCheckAt')
    .limit(1)
    .setLock('pessimistic_write')
    .setOnLocked('skip_locked');
  return ds.createQueryBuilder()
    .update(JiraWebhookRegistration)
    .set({ leaseUntil })
    .where(`team_id = ${due.getQuery()}`)
    .setParameters(due.getParameters())
    .returning('team_id');
}

export interface RenewalReport {
  teams: string[];
}

/**
 * Every JIRA_WEBHOOK_JOB_INTERVAL_SECONDS, on one instance of the fleet (a periodic job of the
 * module's job runner, jobs/job-runner.ts; only with webhooks on): on a process's first run and then daily,
 * adds a registration row for every connected team that has none (a connect whose registration
 * was lost to a crash; see BACKFILL_EVERY_MS), then claims
 * the rows that are due (next check passed, or expiry within 7 days) one at a time with a lease
 * taken under `FOR UPDATE SKIP LOCKED`, and lets the lifecycle verify, re-register and refresh
 * them. The lease (not a transaction) is held during the Jira calls, so no database connection is
 * pinned while Atlassian answers, and a crashed instance's claim lapses after two minutes.
 */
@Injectable()
export class JiraWebhookRenewalJob implements OnApplicationBootstrap {
  private lastBackfillMs = -Infinity;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly lifecycle: JiraWebhookLifecycle,
    private readonly registry: JiraWebhookRegistry,
    private readonly clock: Clock,
    private readonly runner: JobRunner,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.registry.jobIntervalMs;
    if (!this.registry.enabled || every <= 0) return;
    this.runner.every({ name: 'jira-webhook-renewal', everyMs: every, run: () => this.runOnce() });
  }

  async runOnce(): Promise<RenewalReport> {
    const report: RenewalReport = { teams: [] };
    if (!this.registry.enabled) return report;
    const now = this.clock.now();
    if (now.getTime() - this.lastBackfillMs >= BACKFILL_EVERY_MS) {
      await backfillRegistrations(this.dataSource, now).execute();
      this.lastBackfillMs = now.getTime();
    }
    while (report.teams.length < MAX_PER_RUN) {
      const at = this.clock.now();
      const { raw } = await claimDueRegistration(this.dataSource, at, new Date(at.getTime() + REGISTRATION_LEASE_MS),
        new Date(at.getTime() + RENEW_WITHIN_MS), report.teams).execute();
      const rows = raw as { team_id: string }[];
      if (rows.length === 0) break;
      report.teams.push(rows[0].team_id);
      await this.lifecycle.ensureClaimed(rows[0].team_id);
    }
    return report;
  }
}
