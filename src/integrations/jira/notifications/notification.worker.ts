import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock.js';
import { NotificationMetrics } from './notification-metrics.js';
import { NOTIFICATION_HEADERS, signNotification } from './notification-signature.js';
import type { NotificationBody } from './notification-types.js';
import { nextAttemptAt, type RetrySchedule } from './retry-schedule.js';
import { onNotificationsCommitted } from './notification-outbox.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { NotifySettings } from '../config/notify.config.js';

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

/**
 * Sends the outbox on every instance. Rows are claimed in one short statement (`FOR UPDATE SKIP
 * LOCKED` plus a lease in `locked_until`), so instances never send the same row at once; the POST
 * runs with no transaction or lock held; the outcome is written afterwards. A crash mid-POST
 * leaves the lease, which expires and the row is sent again: delivery is at least once, and the
 * receiver deduplicates by the body's `id`.
 */
@Injectable()
export class NotificationWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(NotificationWorker.name);
  private readonly schedule: RetrySchedule;
  private readonly inFlight = new Set<AbortController>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Woken while a cycle ran: run another at once. */
  private again = false;
  /** The earliest retry this process scheduled (clock ms): the next cycle runs then, not at the next poll. */
  private nextDueMs = Infinity;
  /** The last backlog read found no pending row: an idle cycle that claimed nothing need not read it again. */
  private backlogEmpty = false;
  private unlisten: (() => void) | null = null;

  private readonly settings: NotifySettings;
  constructor(
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly metrics: NotificationMetrics,
  ) {
    this.settings = settings.notify;
    this.schedule = { baseMs: this.settings.retryBaseMs, maxMs: this.settings.retryMaxMs, retryForMs: this.settings.retryForMs };
  }

  onApplicationBootstrap(): void {
    if (!this.settings.url) return;
    // A notification this process writes is sent as soon as its transaction commits; the poll
    // (NOTIFY_POLL_INTERVAL_MS) only finds what no one here was told about: rows left by an
    // instance that stopped mid-send, or written by another process that has no worker.
    this.unlisten = onNotificationsCommitted(this.dataSource, () => this.wake());
    this.scheduleTick(0);
  }

  /** Runs a cycle now (or right after the one in progress). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.scheduleTick(0);
  }

  /** Stops polling, aborts POSTs in progress and hands their rows back (before the database closes). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    if (this.timer) clearTimeout(this.timer);
    for (const controller of this.inFlight) controller.abort(new Error('shutting down'));
    await this.running;
  }

  private scheduleTick(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.drain()
        .catch((err: unknown) => this.logger.error({ err, msg: 'notification worker cycle failed' }))
        .finally(() => {
          this.running = null;
          const again = this.again;
          this.again = false;
          const untilDue = Math.max(0, this.nextDueMs - this.clock.nowMs());
          this.scheduleTick(again ? 0 : Math.min(this.settings.pollIntervalMs, untilDue));
        });
    }, delayMs);
    this.timer.unref();
  }

  /** Sends due rows batch by batch until none is left; exposed for tests. */
  async drain(): Promise<void> {
    // Retries due by now are claimed below; later ones stay scheduled.
    if (this.nextDueMs <= this.clock.nowMs()) this.nextDueMs = Infinity;
    let claimed = 0;
    for (;;) {
      if (this.stopped) return;
      const rows = await this.claim();
      claimed += rows.length;
      // One bad row must not hold up the batch; its lease expires and it is tried again.
      await Promise.all(rows.map((row) => this.deliver(row).catch((err: unknown) =>
        this.logger.error({ err, notificationId: row.id, msg: 'notification delivery crashed' }))));
      if (rows.length < BATCH_SIZE) break;
    }
    if (claimed > 0 || !this.backlogEmpty) await this.recordBacklog();
  }

  private async claim(): Promise<ClaimedRow[]> {
    const now = this.clock.nowMs();
    // UPDATE … RETURNING answers [rows, affected] through TypeORM.
    const [rows] = (await this.dataSource.query(
      `UPDATE jira_notification_outbox o SET locked_until = $2, attempts = o.attempts + 1
         FROM (SELECT id FROM jira_notification_outbox
                WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
                ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
        WHERE o.id = due.id
        RETURNING o.id, o.type, o.team_id, o.data, o.occurred_at, o.attempts`,
      [new Date(now), new Date(now + this.settings.timeoutMs + LEASE_MARGIN_MS), BATCH_SIZE],
    )) as [ClaimedRow[], number];
    return rows;
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
    if (this.stopped && error) return this.release(row.id);
    if (!error) {
      this.metrics.attempted(row.type, 'delivered', seconds);
      await this.dataSource.query(
        `UPDATE jira_notification_outbox SET status = 'delivered', delivered_at = $2, locked_until = NULL, last_error = NULL
          WHERE id = $1 AND status = 'pending'`,
        [row.id, this.clock.now()],
      );
      return;
    }
    await this.recordFailure(row, error, seconds);
  }

  private async recordFailure(row: ClaimedRow, error: string, seconds: number): Promise<void> {
    const next = nextAttemptAt(this.schedule, row.attempts, new Date(row.occurred_at).getTime(), this.clock.nowMs());
    if (next) this.nextDueMs = Math.min(this.nextDueMs, next.getTime());
    this.metrics.attempted(row.type, next ? 'retry' : 'failed', seconds);
    await this.dataSource.query(
      `UPDATE jira_notification_outbox SET status = $2, next_attempt_at = COALESCE($3, next_attempt_at), locked_until = NULL, last_error = $4
        WHERE id = $1 AND status = 'pending'`,
      [row.id, next ? 'pending' : 'failed', next, error],
    );
    const context = { notificationId: row.id, type: row.type, teamId: row.team_id, attempt: row.attempts, error };
    if (next) this.logger.warn({ ...context, nextAttemptAt: next, msg: 'notification delivery failed; will retry' });
    else this.logger.error({ ...context, msg: 'notification delivery failed for the whole retry window; giving up' });
  }

  /** Shutting down mid-POST: not the receiver's fault, so the attempt does not count. */
  private async release(id: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE jira_notification_outbox SET locked_until = NULL, attempts = GREATEST(attempts - 1, 0) WHERE id = $1 AND status = 'pending'`,
      [id],
    );
  }

  private async recordBacklog(): Promise<void> {
    const [row] = (await this.dataSource.query(
      `SELECT min(occurred_at) AS oldest FROM jira_notification_outbox WHERE status = 'pending'`,
    )) as { oldest: Date | string | null }[];
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
