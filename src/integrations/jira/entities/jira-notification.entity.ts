import { Check, Column, CreateDateColumn, Entity, Index } from 'typeorm';
import { RetriedWork } from './retried-work.js';

export const JIRA_NOTIFICATION_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type JiraNotificationStatus = (typeof JIRA_NOTIFICATION_STATUSES)[number];

/** One product notification waiting for (or past) delivery (notifications/notification-outbox.ts). */
@Entity({ name: 'jira_notification_outbox' })
@Check('jira_notification_outbox_status_check', `((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text])))`)
@Check('jira_notification_outbox_type_check', `((type ~ '^[a-z][a-z0-9_.:-]{0,99}$'::text))`)
@Index('jira_notification_outbox_due_idx', ['nextAttemptAt'], { where: `(status = 'pending'::text)` })
@Index('jira_notification_outbox_team_id_idx', ['teamId'])
export class JiraNotification extends RetriedWork {
  @Column({ type: 'text' })
  type: string;

  @Column({ name: 'team_id', type: 'text' })
  teamId: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  data: Record<string, unknown>;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;

  @Column({ type: 'text', default: 'pending' })
  status: JiraNotificationStatus;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
