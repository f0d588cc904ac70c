import { Check, Column, Entity, Index, Unique } from 'typeorm';
import { RetriedWork } from './retried-work.js';

/** Stored states of a received delivery: waiting for (another) dispatch, handled, or given up on. */
export const JIRA_WEBHOOK_DELIVERY_STATUSES = ['pending', 'done', 'dead'] as const;
export type JiraWebhookDeliveryStatus = (typeof JIRA_WEBHOOK_DELIVERY_STATUSES)[number];

/** One verified webhook delivery in the inbox (webhooks/jira-webhook-inbox.service.ts), deduplicated per team. */
@Entity({ name: 'jira_webhook_events' })
@Unique('jira_webhook_events_delivery_key', ['teamId', 'deliveryId'])
@Check('jira_webhook_events_status_check', `((status = ANY (ARRAY['pending'::text, 'done'::text, 'dead'::text])))`)
@Index('jira_webhook_events_dead_idx', ['receivedAt'], { where: `(status = 'dead'::text)` })
@Index('jira_webhook_events_pending_idx', ['nextAttemptAt'], { where: `(status = 'pending'::text)` })
export class JiraWebhookDelivery extends RetriedWork {
  @Column({ name: 'team_id', type: 'text' })
  teamId: string;

  @Column({ name: 'cloud_id', type: 'text' })
  cloudId: string;

  @Column({ name: 'delivery_id', type: 'text' })
  deliveryId: string;

  @Column({ name: 'webhook_event', type: 'text' })
  webhookEvent: string;

  /** Jira's webhook ids (int64: strings, as pg returns bigint). */
  @Column({ name: 'matched_webhook_ids', type: 'bigint', array: true, default: () => "'{}'" })
  matchedWebhookIds: string[];

  @Column({ name: 'subscription_keys', type: 'text', array: true, default: () => "'{}'" })
  subscriptionKeys: string[];

  @Column({ type: 'jsonb' })
  payload: unknown;

  @Column({ type: 'text', default: 'pending' })
  status: JiraWebhookDeliveryStatus;

  /** The handlers that already succeeded for this delivery (a retry runs only the others). */
  @Column({ name: 'handled_by', type: 'text', array: true, default: () => "'{}'" })
  handledBy: string[];

  /** Jira's `X-Atlassian-Webhook-Retry` count of the delivery, when it was a retry. */
  @Column({ name: 'jira_retry', type: 'integer', nullable: true })
  jiraRetry: number | null;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ name: 'handled_at', type: 'timestamptz', nullable: true })
  handledAt: Date | null;

  /** The delivery's bytes as received (signature checks and replays need them exactly). */
  @Column({ name: 'raw_body', type: 'bytea', nullable: true })
  rawBody: Buffer | null;
}
