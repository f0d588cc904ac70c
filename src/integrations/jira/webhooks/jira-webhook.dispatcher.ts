import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock.js';
import { JiraWebhookDelivery } from '../entities/jira-webhook-delivery.entity.js';
import { nextJobState } from '../jobs/job-outcome.js';
import { CurrentRun, JobRunner } from '../jobs/job-runner.js';
import { claimLeased } from '../jobs/leased-claim.js';
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

/** This queue's name in the job runner. */
export const WEBHOOK_QUEUE = 'webhook-events';
const COLUMNS = ['id', 'team_id', 'cloud_id', 'delivery_id', 'webhook_event', 'matched_webhook_ids', 'subscription_keys', 'payload',
  'attempts', 'handled_by', 'received_at'] as const;

/**
 * Works off the inbox: a queue of the module's one job runner (jobs/job-runner.ts). Claims due
 * events (lease in `locked_until`, taken under `FOR UPDATE SKIP LOCKED`: jobs/leased-claim.ts),
 * runs the handlers whose subscription matched, and records the outcome. A handler that throws is
 * retried after the module's backoff (handlers that already succeeded are not run again); after
 * JIRA_WEBHOOK_MAX_ATTEMPTS the event is dead-lettered (jobs/job-outcome.ts decides). Events whose
 * instance died mid-handling are claimed again once the lease lapses.
 */
@Injectable()
export class JiraWebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JiraWebhookDispatcher.name);
  private readonly draining = new CurrentRun<number>();
  private pollingOn = false;
  private stopped = false;

  private readonly config: JiraWebhookSettings;
  private get events() {
    return this.dataSource.getRepository(JiraWebhookDelivery);
  }
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: JiraWebhookRegistry,
    private readonly metrics: JiraWebhookMetrics,
    private readonly clock: Clock,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    private readonly runner: JobRunner,
  ) {
    this.config = settings.webhooks;
  }

  onApplicationBootstrap(): void {
    // Webhooks off (no subscription from configuration, options or @OnJiraWebhook): nothing can be
    // stored, so nothing is polled. It polled every second regardless: about 86,000 statements a
    // day per instance, competing with everything else for PGlite's single session.
    if (!this.registry.enabled) return;
    this.pollingOn = this.config.pollMs > 0;
    this.runner.queue({ name: WEBHOOK_QUEUE, pollMs: this.config.pollMs, drain: () => this.drain(), stop: () => (this.stopped = true) });
  }

  /** Whether this instance polls the inbox (only with webhooks configured). */
  get polling(): boolean {
    return this.pollingOn && !this.stopped;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.draining.settled();
  }

  /**
   * Work off what is due now: called after each delivery this process stores, when a retry it
   * scheduled is due, and by the runner's poll (JIRA_WEBHOOK_POLL_MS), which only finds what no
   * one here was told about (events left by an instance that stopped mid-handler).
   */
  kick(): void {
    if (!this.stopped) this.runner.wake(WEBHOOK_QUEUE);
  }

  /** Claims and handles batches until nothing is due. Returns how many events were attempted. */
  drain(): Promise<number> {
    return this.draining.track(this.drainOnce());
  }

  private async drainOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      if (this.stopped) return total;
      const now = this.clock.now();
      const leaseEndMs = now.getTime() + this.config.leaseMs;
      const batch = await claimLeased<EventRow>(this.dataSource, JiraWebhookDelivery, COLUMNS, now, new Date(leaseEndMs), BATCH);
      if (batch.length === 0) return total;
      total += batch.length;
      await Promise.all(batch.map((row) => this.handle(row, leaseEndMs)));
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

  /**
   * Runs the event's remaining handlers within its lease (`leaseEndMs`, clock ms): a handler that
   * could not finish before the lease lapses is left for the retry, so another instance never runs
   * the same handlers at once; the outcome is written only while this claim (its attempt) holds.
   */
  private async handle(row: EventRow, leaseEndMs: number): Promise<void> {
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
      if (this.clock.nowMs() + this.config.handlerTimeoutMs >= leaseEndMs) {
        failure = `${handler.name}: not started, the event's lease would lapse first; retried`;
        break;
      }
      try {
        await this.withTimeout(handler.run(event));
        done.add(handler.name);
      } catch (err) {
        failure = `${handler.name}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
      }
    }
    const now = this.clock.now();
    if (failure === null) {
      // Fenced by the claim's attempt: after a lapse another instance's claim counted another.
      await this.events.update({ id: row.id, status: 'pending', attempts: row.attempts },
        { status: 'done', handledBy: [...done], handledAt: now, lockedUntil: null, lastError: null });
      this.metrics.handled('handled');
      return;
    }
    const state = nextJobState({ kind: 'failed', error: failure }, row.attempts,
      { baseMs: this.config.retryBaseMs, maxMs: MAX_BACKOFF_MS, maxAttempts: this.config.maxAttempts }, now.getTime());
    const dead = state.kind !== 'retry';
    const nextAt = state.kind === 'retry' ? state.atMs : now.getTime();
    await this.events.update({ id: row.id, status: 'pending', attempts: row.attempts },
      { status: dead ? 'dead' : 'pending', handledBy: [...done], lastError: failure, lockedUntil: null, nextAttemptAt: new Date(nextAt) });
    this.metrics.handled(dead ? 'dead_lettered' : 'retried');
    if (!dead) this.runner.wakeAt(WEBHOOK_QUEUE, nextAt);
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
    this.metrics.deadLetters.set(await this.events.countBy({ status: 'dead' }));
  }
}
