import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock.js';
import { JiraNotification } from '../entities/jira-notification.entity.js';
import { NotificationMetrics } from './notification-metrics.js';
import { NOTIFICATION_HEADERS, signNotification } from './notification-signature.js';
import type { NotificationBody } from './notification-types.js';
import { onNotificationsCommitted } from './notification-outbox.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { NotifySettings } from '../config/notify.config.js';
import { CurrentRun, JobRunner } from '../jobs/job-runner.js';
import { claimLeased } from '../jobs/leased-claim.js';
import { type JobState, nextJobState } from '../jobs/job-outcome.js';

interface ClaimedRow {
  id: string;
  type: string;
  team_id: string;
  data: Record<string, unknown> | string;
  occurred_at: Date | string;
  attempts: number;
}

const BATCH_SIZE = 20;
/** A claim outlives the request timeout by this much; after it, a crashed sender's rows are retried. */
const LEASE_MARGIN_MS = 30_000;
/** This queue's name in the job runner. */
export const NOTIFICATION_QUEUE = 'notifications';
const COLUMNS = ['id', 'type', 'team_id', 'data', 'occurred_at', 'attempts'] as const;

/**
 * Sends the outbox: a queue of the module's one job runner (jobs/job-runner.ts). Rows are claimed
 * in one short statement (`FOR UPDATE SKIP LOCKED` plus a lease in `locked_until`:
 * jobs/leased-claim.ts), so instances never send the same row at once; the POST runs with no
 * transaction or lock held; the outcome is written afterwards (jobs/job-outcome.ts decides it). A
 * crash mid-POST leaves the lease, which expires and the row is sent again: delivery is at least
 * once, and the receiver deduplicates by the body's `id`.
 */
@Injectable()
export class NotificationWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(NotificationWorker.name);
  private readonly inFlight = new Set<AbortController>();
  private readonly runner: JobRunner;
  /** The drain in progress (the runner's or a test's), awaited on shutdown. */
  private readonly running = new CurrentRun<void>();
  private stopped = false;
  /** The last backlog read found no pending row: an idle cycle that claimed nothing need not read it again. */
  private backlogEmpty = false;
  private unlisten: (() => void) | null = null;
  private get outbox() {
    return this.dataSource.getRepository(JiraNotification);
  }

  private readonly settings: NotifySettings;
  constructor(
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly metrics: NotificationMetrics,
  ) {
    this.settings = settings.notify;
    // The runner of this database, shared with the module's other jobs (this worker is also built
    // outside the module's DI, by the module's option providers).
    this.runner = JobRunner.for(dataSource, clock);
  }

  onApplicationBootstrap(): void {
    if (!this.settings.url) return;
    // A notification this process writes is sent as soon as its transaction commits; the poll
    // (NOTIFY_POLL_INTERVAL_MS) only finds what no one here was told about: rows left by an
    // instance that stopped mid-send, or written by another process that has no worker.
    this.unlisten = onNotificationsCommitted(this.dataSource, () => this.wake());
    this.runner.queue({ name: NOTIFICATION_QUEUE, pollMs: this.settings.pollIntervalMs, drain: () => this.drain(), stop: () => this.stop() });
  }

  /** Runs a cycle now (or right after the one in progress). */
  wake(): void {
    if (!this.stopped) this.runner.wake(NOTIFICATION_QUEUE);
  }

  /** Stops sending, aborts POSTs in progress and hands their rows back (before the database closes). */
  async onModuleDestroy(): Promise<void> {
    this.stop();
    await this.running.settled();
  }

  private stop(): void {
    this.stopped = true;
    this.unlisten?.();
    for (const controller of this.inFlight) controller.abort(new Error('shutting down'));
  }

  /** Sends due rows batch by batch until none is left; the runner's cycle, exposed for tests. */
  drain(): Promise<void> {
    return this.running.track(this.drainOnce());
  }

  private async drainOnce(): Promise<void> {
    let claimed = 0;
    for (;;) {
      if (this.stopped) return;
      const now = this.clock.nowMs();
      const rows = await claimLeased<ClaimedRow>(this.dataSource, JiraNotification, COLUMNS, new Date(now),
        new Date(now + this.settings.timeoutMs + LEASE_MARGIN_MS), BATCH_SIZE);
      claimed += rows.length;
      // One bad row must not hold up the batch; its lease expires and it is tried again.
      await Promise.all(rows.map((row) => this.deliver(row).catch((err: unknown) =>
        this.logger.error({ err, notificationId: row.id, msg: 'notification delivery crashed' }))));
      if (rows.length < BATCH_SIZE) break;
    }
    if (claimed > 0 || !this.backlogEmpty) await this.recordBacklog();
  }

  private async deliver(row: ClaimedRow): Promise<void> {
    const body: NotificationBody = {
      id: row.id,
      type: row.type,
      teamId: row.team_id,
      occurredAt: new Date(row.occurred_at).toISOString(),
      data: typeof row.data === 'string' ? (JSON.parse(row.data) as Record<string, unknown>) : row.data,
    };
    const raw = JSON.stringify(body);
    const timestamp = Math.floor(this.clock.nowMs() / 1000);
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(new Error('timeout')), this.settings.timeoutMs);
    this.inFlight.add(controller);
    const started = performance.now();
    let error: string | null = null;
    try {
      const res = await fetch(this.settings.url!, {
        method: 'POST',
        redirect: 'manual',
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'jira-connect-notifications/1',
          [NOTIFICATION_HEADERS.id]: row.id,
          [NOTIFICATION_HEADERS.timestamp]: String(timestamp),
          [NOTIFICATION_HEADERS.signature]: signNotification(this.settings.secret!, timestamp, raw),
        },
        body: raw,
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`;
    } catch (err) {
      error = errorLabel(err, controller);
    } finally {
      clearTimeout(timeout);
      this.inFlight.delete(controller);
    }
    const seconds = (performance.now() - started) / 1000;
    const state = nextJobState(
      error === null ? { kind: 'succeeded' } : this.stopped ? { kind: 'aborted' } : { kind: 'failed', error },
      row.attempts,
      { baseMs: this.settings.retryBaseMs, maxMs: this.settings.retryMaxMs, giveUpAtMs: new Date(row.occurred_at).getTime() + this.settings.retryForMs },
      this.clock.nowMs(),
    );
    await this.record(row, state, error ?? '', seconds);
  }

  private async record(row: ClaimedRow, state: JobState, error: string, seconds: number): Promise<void> {
    switch (state.kind) {
      case 'done':
        this.metrics.attempted(row.type, 'delivered', seconds);
        await this.outbox.update({ id: row.id, status: 'pending' },
          { status: 'delivered', deliveredAt: this.clock.now(), lockedUntil: null, lastError: null });
        return;
      case 'released':
        // Shutting down mid-POST: not the receiver's fault, so the attempt does not count.
        await this.outbox.update({ id: row.id, status: 'pending' }, { lockedUntil: null, attempts: () => 'GREATEST(attempts - 1, 0)' });
        return;
      case 'retry':
      case 'dead': {
        const next = state.kind === 'retry' ? new Date(state.atMs) : null;
        if (next) this.runner.wakeAt(NOTIFICATION_QUEUE, next.getTime());
        this.metrics.attempted(row.type, next ? 'retry' : 'failed', seconds);
        // A dead row keeps its next_attempt_at.
        await this.outbox.update({ id: row.id, status: 'pending' },
          { status: next ? 'pending' : 'failed', ...(next ? { nextAttemptAt: next } : {}), lockedUntil: null, lastError: error });
        const context = { notificationId: row.id, type: row.type, teamId: row.team_id, attempt: row.attempts, error };
        if (next) this.logger.warn({ ...context, nextAttemptAt: next, msg: 'notification delivery failed; will retry' });
        else this.logger.error({ ...context, msg: 'notification delivery failed for the whole retry window; giving up' });
      }
    }
  }

  private async recordBacklog(): Promise<void> {
    const row = await this.outbox.createQueryBuilder('o').select('min(o.occurredAt)', 'oldest')
      .where(`o.status = 'pending'`).getRawOne<{ oldest: Date | string | null }>();
    this.backlogEmpty = !row?.oldest;
    this.metrics.backlog(row?.oldest ? Math.max(0, (this.clock.nowMs() - new Date(row.oldest).getTime()) / 1000) : 0);
  }
}

/** A short, secret-free reason for last_error and logs (never the receiver's response body). */
function errorLabel(err: unknown, controller: AbortController): string {
  if (controller.signal.aborted) return String((controller.signal.reason as Error)?.message ?? 'aborted');
  const cause = (err as { cause?: { code?: string } })?.cause;
  return cause?.code ? `network: ${cause.code}` : 'network error';
}
