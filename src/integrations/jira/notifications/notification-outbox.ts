import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { Clock } from '../common/clock.js';
import { JiraNotification } from '../entities/jira-notification.entity.js';
import { parseOpaqueId } from '../common/opaque-id.js';
import { NOTIFICATION_TYPE_PATTERN, type NotificationInput } from './notification-types.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { NotifySettings } from '../config/notify.config.js';

/** Marks a transaction's query runner that wrote a notification row. */
const WRITTEN = Symbol('jira-connect.notification-written');
const listeners = new WeakMap<DataSource, Set<() => void>>();
const flags = (runner: QueryRunner): Record<symbol, unknown> => runner.data as Record<symbol, unknown>;

/**
 * Calls `listener` once a notification row written through `dataSource` in this process is
 * committed: after the outermost COMMIT of its transaction (a DataSource subscriber), or at once
 * when it was written outside a transaction. NotificationWorker wakes on it instead of polling.
 * Returns the function that stops listening.
 */
export function onNotificationsCommitted(dataSource: DataSource, listener: () => void): () => void {
  let set = listeners.get(dataSource);
  if (!set) {
    const registered = new Set<() => void>();
    set = registered;
    listeners.set(dataSource, registered);
    const subscriber: EntitySubscriberInterface = {
      afterTransactionCommit: ({ queryRunner }) => {
        if (queryRunner.isTransactionActive || !flags(queryRunner)[WRITTEN]) return;
        delete flags(queryRunner)[WRITTEN];
        for (const l of registered) l();
      },
      afterTransactionRollback: ({ queryRunner }) => {
        if (!queryRunner.isTransactionActive) delete flags(queryRunner)[WRITTEN];
      },
    };
    dataSource.subscribers.push(subscriber);
  }
  set.add(listener);
  return () => void set.delete(listener);
}

/**
 * Records notifications for the product's backend in the caller's transaction (transactional
 * outbox): the row commits with the change it reports, or not at all. NotificationWorker sends it.
 */
@Injectable()
export class NotificationOutbox {
  private readonly settings: NotifySettings;
  constructor(
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    private readonly clock: Clock,
  ) {
    this.settings = settings.notify;
  }

  /** False without NOTIFY_WEBHOOK_URL: then nothing is recorded. */
  get enabled(): boolean {
    return Boolean(this.settings.url);
  }

  /**
   * Inserts one notification through `em`, which must be the manager of the transaction that makes
   * the change. Returns its id (the body's `id`), or null when notifications are off.
   */
  async enqueue(em: EntityManager, input: NotificationInput): Promise<string | null> {
    if (!this.enabled) return null;
    if (!NOTIFICATION_TYPE_PATTERN.test(input.type)) throw new Error(`Invalid notification type: ${input.type}`);
    if (parseOpaqueId(input.teamId) === null) throw new Error('Invalid team id for a notification');
    const now = this.clock.now();
    const { identifiers: [row] } = await em.createQueryBuilder().insert().into(JiraNotification)
      .values({ type: input.type, teamId: input.teamId, data: (input.data ?? {}) as QueryDeepPartialEntity<JiraNotification['data']>, occurredAt: now, nextAttemptAt: now, createdAt: now })
      .execute();
    const runner = em.queryRunner;
    if (runner?.isTransactionActive) flags(runner)[WRITTEN] = true;
    else for (const l of listeners.get(em.connection) ?? []) l();
    return (row as { id: string }).id;
  }
}
