import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock.js';
import { parseOpaqueId } from '../common/opaque-id.js';
import { notifyConfig } from '../config/notify.config.js';
import { NOTIFICATION_TYPE_PATTERN, type NotificationInput } from './notification-types.js';

/**
 * Records notifications for the product's backend in the caller's transaction (transactional
 * outbox): the row commits with the change it reports, or not at all. NotificationWorker sends it.
 */
@Injectable()
export class NotificationOutbox {
  constructor(
    @Inject(notifyConfig.KEY) private readonly settings: ConfigType<typeof notifyConfig>,
    private readonly clock: Clock,
  ) {}

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
    const [row] = (await em.query(
      `INSERT INTO jira_notification_outbox (type, team_id, data, occurred_at, next_attempt_at, created_at)
       VALUES ($1, $2, $3::jsonb, $4, $4, $4) RETURNING id`,
      [input.type, input.teamId, JSON.stringify(input.data ?? {}), now],
    )) as { id: string }[];
    return row.id;
  }
}
