import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock.js';
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
/** A pending registration for every connected OAuth team that has none ($1 now). */
export const BACKFILL_SQL = `INSERT INTO jira_webhook_registrations (team_id, cloud_id, site_url, state, next_check_at, created_at, updated_at)
         SELECT i.team_id::text, i.cloud_id, i.site_url, 'pending', $1, $1, $1 FROM jira_integrations i
          WHERE i.status = 'connected' AND i.cloud_id IS NOT NULL AND i.connection_type = 'oauth'
            AND NOT EXISTS (SELECT 1 FROM jira_webhook_registrations r WHERE r.team_id = i.team_id::text)
         ON CONFLICT (team_id) DO NOTHING`;
/** Leases the next due registration ($1 now, $2 lease end, $3 renew-before horizon, $4 teams already taken this run). */
export const CLAIM_DUE_SQL = `UPDATE jira_webhook_registrations SET lease_until = $2
          WHERE team_id = (
            SELECT team_id FROM jira_webhook_registrations
             WHERE (next_check_at <= $1 OR (state = 'active' AND expires_at <= $3))
               AND (lease_until IS NULL OR lease_until <= $1) AND NOT (team_id = ANY($4::text[]))
             ORDER BY next_check_at LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING team_id`;

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
      await this.dataSource.query(BACKFILL_SQL, [now]);
      this.lastBackfillMs = now.getTime();
    }
    while (report.teams.length < MAX_PER_RUN) {
      const at = this.clock.now();
      const [rows] = (await this.dataSource.query(
        CLAIM_DUE_SQL,
        [at, new Date(at.getTime() + REGISTRATION_LEASE_MS), new Date(at.getTime() + RENEW_WITHIN_MS), report.teams],
      )) as [{ team_id: string }[], number];
      if (rows.length === 0) break;
      report.teams.push(rows[0].team_id);
      await this.lifecycle.ensureClaimed(rows[0].team_id);
    }
    return report;
  }
}
