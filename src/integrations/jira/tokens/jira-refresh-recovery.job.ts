import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { JobRunner } from '../jobs/job-runner.js';
import { JiraTokenManager } from './jira-token-manager.service.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraSettings } from '../config/jira.config.js';

/** Rows per sweep; the rest wait for the next one (a sweep never floods Atlassian). */
const MAX_PER_SWEEP = 100;
/**
 * A sweep's hold on the job: a crashed instance's sweep is taken over after this, well within
 * Atlassian's 10-minute reuse leeway (each row has its own refresh lease besides).
 */
const SWEEP_LEASE_MS = 2 * 60_000;

export interface RecoveryReport {
  recovered: number;
  failed: number;
}

/**
 * Finishes interrupted refreshes with no caller needed. When a refresh's outcome is unknown
 * (timeout, connection lost after sending, the process killed), Atlassian may already have rotated
 * the refresh token while the old one is still stored; it accepts the old one again only within
 * its 10-minute reuse leeway. Every JIRA_REFRESH_RECOVERY_SECONDS, one instance of the fleet (a
 * periodic job of the module's job runner, jobs/job-runner.ts) picks up rows whose lease expired
 * (on the database's clock) with a refresh still marked in flight and presents the same stored
 * refresh token again (claiming the row's refresh lease first, so instances never double up).
 */
@Injectable()
export class JiraRefreshRecoveryJob implements OnApplicationBootstrap {
  private readonly logger = new Logger(JiraRefreshRecoveryJob.name);

  private readonly config: JiraSettings;
  constructor(
    private readonly tokens: JiraTokenManager,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    private readonly runner: JobRunner,
  ) {
    this.config = settings.jira;
  }

  onApplicationBootstrap(): void {
    if (!this.config.configured) return;
    this.runner.every({ name: 'jira-refresh-recovery', everyMs: this.config.refreshRecoverySeconds * 1000, leaseMs: SWEEP_LEASE_MS,
      run: () => this.sweep() });
  }

  /** One sweep; each row's failure is its own (logged and left marked for the next sweep). */
  async sweep(): Promise<RecoveryReport> {
    const report: RecoveryReport = { recovered: 0, failed: 0 };
    const teams = await this.tokens.leases.unfinished(MAX_PER_SWEEP);
    await Promise.all(teams.map(async (teamId) => {
      try {
        const outcome = await this.tokens.recover(teamId);
        if (outcome.kind === 'token') report.recovered += 1;
      } catch {
        report.failed += 1; // already logged and recorded on the row by the token manager
      }
    }));
    if (report.recovered + report.failed > 0) {
      this.logger.log(`Jira refresh recovery: ${report.recovered} finished, ${report.failed} still failing`);
    }
    return report;
  }
}
