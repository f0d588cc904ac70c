import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export const JIRA_WEBHOOK_REGISTRATION_STATES = ['pending', 'active', 'failed', 'inactive'] as const;
export type JiraWebhookRegistrationState = (typeof JIRA_WEBHOOK_REGISTRATION_STATES)[number];

/** A team's managed Jira webhooks (webhooks/jira-webhook-lifecycle.service.ts): Jira's ids, expiry and errors. */
@Entity({ name: 'jira_webhook_registrations' })
@Check('jira_webhook_registrations_state_check', `((state = ANY (ARRAY['pending'::text, 'active'::text, 'failed'::text, 'inactive'::text])))`)
@Index('jira_webhook_registrations_cloud_idx', ['cloudId'])
@Index('jira_webhook_registrations_due_idx', ['nextCheckAt'])
export class JiraWebhookRegistration {
  @PrimaryColumn({ name: 'team_id', type: 'text', primaryKeyConstraintName: 'jira_webhook_registrations_pkey' })
  teamId: string;

  @Column({ name: 'cloud_id', type: 'text' })
  cloudId: string;

  @Column({ name: 'site_url', type: 'text', nullable: true })
  siteUrl: string | null;

  @Column({ type: 'text' })
  state: JiraWebhookRegistrationState;

  /** What was registered: `{ id, events, jqlFilter, fieldIdsFilter?, ... }` per Jira webhook. */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  webhooks: unknown[];

  @Column({ name: 'webhook_ids', type: 'bigint', array: true, default: () => "'{}'" })
  webhookIds: string[];

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'last_refreshed_at', type: 'timestamptz', nullable: true })
  lastRefreshedAt: Date | null;

  @Column({ name: 'last_delivery_at', type: 'timestamptz', nullable: true })
  lastDeliveryAt: Date | null;

  @Column({ name: 'last_error_code', type: 'text', nullable: true })
  lastErrorCode: string | null;

  @Column({ name: 'last_error_at', type: 'timestamptz', nullable: true })
  lastErrorAt: Date | null;

  /** When the renewal job next looks at this row. */
  @Column({ name: 'next_check_at', type: 'timestamptz' })
  nextCheckAt: Date;

  /** A renewal in progress holds the row until then. */
  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Set by each writer from the module's clock (not on every write: claiming the lease leaves it). */
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
