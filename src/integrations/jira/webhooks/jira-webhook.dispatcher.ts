import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { backoffMs } from '../common/backoff.js';
import { Clock } from '../common/clock.js';
import { type DeadLetter, listDeadLetters, requeueDeadLetter } from './dead-letters.js';
import { JiraWebhookMetrics } from './jira-webhook.metrics.js';
import { JiraWebhookRegistry } from './jira-webhook.registry.js';
import type { JiraWebhookEvent } from './webhook-subscription.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraWebhookSettings } from '../config/jira-webhooks.config.js';

const BATCH = 16;
const MAX_BACKOFF_MS = 3_600_000;

interface EventRow {
  id: string;
  team_id: string;
  cloud_id: string;
  delivery_id: string;
  webhook_event: string;
  matched_webhook_ids: (string | number)[] | string;
  subscription_keys: string[] | string;
  payload: Record<string, unknown> | string;
  attempts: number;
  handled_by: string[] | string;
  received_at: Date;
}

const pgArray = (v: (string | number)[] | string): string[] =>
  Array.isArray(v) ? v.map(String) : v.replace(/^\{|\}$/g, '').split(',').filter(Boolean).map((s) => s.replace(/^"|"$/g, ''));

/**
 * Works off the inbox on every instance: claims due events (lease in `locked_until`, taken under
 * `FOR UPDATE SKIP LOCKED`), runs the handlers whose subscription matched, and records the
 * outcome. A handler that throws is retried with exponential backoff (handlers that already
 * succeeded are not run again); after JIRA_WEBHOOK_MAX_ATTEMPTS the event is dead-lettered.
 * Events whose instance died mid-handling are claimed again once the lease lapses.
 */
@Injectable()
export class JiraWebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JiraWebhookDispatcher.name);
  private timer?: NodeJS.Timeout;
  /** The earliest retry this process scheduled: a kick then, not at the next poll. */
  private retryTimer?: NodeJS.Timeout;
  private retryAtMs = Infinity;
  private draining?: Promise<void>;
  private again = false;
  private stopped = false;

  private readonly config: JiraWebhookSettings;
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: JiraWebhookRegistry,
    private readonly metrics: JiraWebhookMetrics,
    private readonly clock: Clock,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
  ) {
    this.config = settings.webhooks;
  }

  onApplicationBootstrap(): void {
    // Webhooks off (no subscription from configuration, options or @OnJiraWebhook): nothing can be
    // stored, so nothing is polled. It polled every second regardless: about 86,000 statements a
    // day per instance, competing with everything else for PGlite's single session.
    if (!this.registry.enabled) return;
    if (this.config.pollMs > 0) {
      this.timer = setInterval(() => this.kick(), this.config.pollMs);
      this.timer.unref();
    }
    this.kick();
  }

  /** Whether this instance polls the inbox (only with webhooks configured). */
  get polling(): boolean {
    return this.timer !== undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    await this.draining;
  }

  /**
   * Work off what is due now: called after each delivery this process stores, when a retry it
   * scheduled is due, and by the poll timer (JIRA_WEBHOOK_POLL_MS), which only finds what no one
   * here was told about (events left by an instance that stopped mid-handler).
   */
  kick(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain()
      .then(() => undefined, (err: unknown) => this.logger.error(`webhook dispatch failed: ${(err as Error).message}`))
      .finally(() => {
        this.draining = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** A kick when a retry this process scheduled is due (clock ms); the earliest one wins. */
  private kickAt(atMs: number): void {
    if (this.stopped || atMs >= this.retryAtMs) return;
    clearTimeout(this.retryTimer);
    this.retryAtMs = atMs;
    // A timer may fire a millisecond before the clock reaches `atMs`, when the claim would find the
    // row not yet due and nothing would wake us until the poll: re-arm until it is due.
    const arm = () => {
      this.retryTimer = setTimeout(() => {
        if (this.clock.nowMs() < atMs) return arm();
        this.retryAtMs = Infinity;
        this.retryTimer = undefined;
        this.kick();
      }, Math.max(0, atMs - this.clock.nowMs()) + 1);
      this.retryTimer.unref();
    };
    arm();
  }

  /** Claims and handles batches until nothing is due. Returns how many events were attempted. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      if (this.stopped) return total;
      const batch = await this.claim();
      if (batch.length === 0) return total;
      total += batch.length;
      await Promise.all(batch.map((row) => this.handle(row)));
    }
  }

  deadLetters(limit = 100): Promise<DeadLetter[]> {
    return listDeadLetters(this.dataSource, limit);
  }

  /** Puts a dead letter back in the queue with a fresh set of attempts. */
  async retryDeadLetter(id: string): Promise<boolean> {
    const requeued = await requeueDeadLetter(this.dataSource, id, this.clock.now());
    await this.refreshDeadLetterGauge();
    if (requeued) this.kick();
    return requeued;
  }

  private async claim(): Promise<EventRow[]> {
    const now = this.clock.now();
    const [rows] = (await this.dataSource.query(
      `UPDATE jira_webhook_events SET locked_until = $2, attempts = attempts + 1
        WHERE id IN (
          SELECT id FROM jira_webhook_events
           WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
           ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING id, team_id, cloud_id, delivery_id, webhook_event, matched_webhook_ids, subscription_keys, payload, attempts, handled_by, received_at`,
      [now, new Date(now.getTime() + this.config.leaseMs), BATCH])) as [EventRow[], number];
    return rows;
  }

  private async handle(row: EventRow): Promise<void> {
    const matched = pgArray(row.matched_webhook_ids).map(Number);
    const done = new Set(pgArray(row.handled_by));
    const keys = new Set(pgArray(row.subscription_keys));
    const event: JiraWebhookEvent = {
      id: row.id,
      teamId: row.team_id,
      cloudId: row.cloud_id,
      deliveryId: row.delivery_id,
      webhookEvent: row.webhook_event,
      matchedWebhookIds: matched,
      payload: typeof row.payload === 'string' ? (JSON.parse(row.payload) as Record<string, unknown>) : row.payload,
      receivedAt: new Date(row.received_at),
      attempt: row.attempts,
    };
    let failure: string | null = null;
    for (const handler of this.registry.handlersFor(keys)) {
      if (done.has(handler.name)) continue;
      try {
        await this.withTimeout(handler.run(event));
        done.add(handler.name);
      } catch (err) {
        failure = `${handler.name}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
      }
    }
    const now = this.clock.now();
    if (failure === null) {
      await this.dataSource.query(
        `UPDATE jira_webhook_events SET status = 'done', handled_by = $2, handled_at = $3, locked_until = NULL, last_error = NULL WHERE id = $1`,
        [row.id, [...done], now]);
      this.metrics.handled('handled');
      return;
    }
    const dead = row.attempts >= this.config.maxAttempts;
    const backoff = backoffMs(row.attempts, this.config.retryBaseMs, MAX_BACKOFF_MS);
    await this.dataSource.query(
      `UPDATE jira_webhook_events SET status = $2, handled_by = $3, last_error = $4, locked_until = NULL, next_attempt_at = $5 WHERE id = $1`,
      [row.id, dead ? 'dead' : 'pending', [...done], failure, new Date(now.getTime() + backoff)]);
    this.metrics.handled(dead ? 'dead_lettered' : 'retried');
    if (!dead) this.kickAt(now.getTime() + backoff);
    if (dead) {
      this.logger.error({ eventId: row.id, teamId: row.team_id, attempts: row.attempts, msg: 'jira webhook event dead-lettered' });
      await this.refreshDeadLetterGauge();
    }
  }

  private async withTimeout(p: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([p, new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`handler timed out after ${this.config.handlerTimeoutMs} ms`)), this.config.handlerTimeoutMs);
      })]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async refreshDeadLetterGauge(): Promise<void> {
    const [{ n }] = (await this.dataSource.query(`SELECT count(*)::int AS n FROM jira_webhook_events WHERE status = 'dead'`)) as { n: number }[];
    this.metrics.deadLetters.set(n);
  }
}
