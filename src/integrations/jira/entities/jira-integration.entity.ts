import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** Stored states; `not_connected` is the absence of a row. */
export const JIRA_INTEGRATION_STATUSES = ['pending_site_selection', 'connected', 'reauthorization_required'] as const;
export type JiraIntegrationStatus = (typeof JIRA_INTEGRATION_STATUSES)[number];

/** How the team connected: a user's 3LO grant, or an organisation's service account (client credentials). */
export const JIRA_CONNECTION_TYPES = ['oauth', 'service_account'] as const;
export type JiraConnectionType = (typeof JIRA_CONNECTION_TYPES)[number];

/** A site the token can reach, as `accessible-resources` listed it. */
export interface JiraSite {
  cloudId: string;
  url: string;
  name: string;
  scopes: string[];
  avatarUrl?: string;
}

/** One Jira Cloud connection per team. Token columns are encrypted at rest. */
@Entity({ name: 'jira_integrations' })
@Check('jira_integrations_status_check', `((status = ANY (ARRAY['pending_site_selection'::text, 'connected'::text, 'reauthorization_required'::text])))`)
@Check('jira_integrations_connection_type_check', `((connection_type = ANY (ARRAY['oauth'::text, 'service_account'::text])))`)
@Check('jira_integrations_connected_has_site', `(((status <> 'connected'::text) OR (cloud_id IS NOT NULL)))`)
@Index('jira_integrations_account_id_idx', ['atlassianAccountId'], { where: '(atlassian_account_id IS NOT NULL)' })
@Index('jira_integrations_consented_at_idx', ['consentedAt'])
@Index('jira_integrations_refresh_in_flight_idx', ['refreshLeaseExpiresAt'], { where: '(refresh_in_flight_version IS NOT NULL)' })
/*
 * The keep-alive sweep's expression index, ON (COALESCE(last_refreshed_at, connected_at)) WHERE
 * status IN ('connected', 'pending_site_selection') AND refresh_token IS NOT NULL
 * (1772000000000-KeepAliveIndex.ts): TypeORM has no expression indexes, so it is declared by name
 * and left to the migration.
 */
@Index('jira_integrations_keepalive_idx', { synchronize: false })
export class JiraIntegration {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'team_id', type: 'text', unique: true })
  teamId: string;

  @Column({ type: 'text' })
  status: JiraIntegrationStatus;

  @Column({ name: 'connection_type', type: 'text', default: 'oauth' })
  connectionType: JiraConnectionType;

  /**
   * Service accounts only: the sealed `{clientId, clientSecret}` tokens are minted with (sealed by
   * tokens/token-sealing.ts, bound to the team; never decrypted on load, never returned).
   */
  @Column({ name: 'client_credential', type: 'text', nullable: true, select: false })
  clientCredential: string | null;

  @Column({ name: 'cloud_id', type: 'text', nullable: true })
  cloudId: string | null;

  @Column({ name: 'site_url', type: 'text', nullable: true })
  siteUrl: string | null;

  @Column({ name: 'site_name', type: 'text', nullable: true })
  siteName: string | null;

  /** The choices while `pending_site_selection` (no secrets in here). */
  @Column({ name: 'available_sites', type: 'jsonb', nullable: true })
  availableSites: JiraSite[] | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes: string[];

  @Column({ name: 'connected_by_user_id', type: 'text', nullable: true })
  connectedByUserId: string | null;

  @Column({ name: 'atlassian_account_id', type: 'text', nullable: true })
  atlassianAccountId: string | null;

  @Column({ name: 'atlassian_account_name', type: 'text', nullable: true })
  atlassianAccountName: string | null;

  /** Encrypted at rest, bound to the team (JiraIntegrationTokensSubscriber, tokens/token-sealing.ts). */
  @Column({ name: 'access_token', type: 'text', nullable: true })
  accessToken: string | null;

  @Column({ name: 'refresh_token', type: 'text', nullable: true })
  refreshToken: string | null;

  @Column({ name: 'access_token_expires_at', type: 'timestamptz', nullable: true })
  accessTokenExpiresAt: Date | null;

  /** Bumped on every token write; lets a writer detect that someone else rotated first. */
  @Column({ name: 'token_version', type: 'integer', default: 0 })
  tokenVersion: number;

  /** The refresh lease (see JiraRefreshLease): owner and expiry; null when nobody refreshes. */
  @Column({ name: 'refresh_lease_owner', type: 'text', nullable: true })
  refreshLeaseOwner: string | null;

  @Column({ name: 'refresh_lease_expires_at', type: 'timestamptz', nullable: true })
  refreshLeaseExpiresAt: Date | null;

  /** Durable marker: a refresh of this token version was sent and its outcome is not known yet. */
  @Column({ name: 'refresh_in_flight_version', type: 'integer', nullable: true })
  refreshInFlightVersion: number | null;

  @Column({ name: 'refresh_in_flight_since', type: 'timestamptz', nullable: true })
  refreshInFlightSince: Date | null;

  @Column({ name: 'connected_at', type: 'timestamptz', nullable: true })
  connectedAt: Date | null;

  @Column({ name: 'last_refreshed_at', type: 'timestamptz', nullable: true })
  lastRefreshedAt: Date | null;

  /** When the user consented; Atlassian ends the token family 365 days later (reset by a reconnect). */
  @Column({ name: 'consented_at', type: 'timestamptz', nullable: true })
  consentedAt: Date | null;

  /** The smallest `reconsent_due` threshold (days before expiry) already notified for this consent. */
  @Column({ name: 'reconsent_notice_days', type: 'integer', nullable: true })
  reconsentNoticeDays: number | null;

  /** When the connecting user stopped being a member of the team (table policy); null while a member. */
  @Column({ name: 'connector_left_at', type: 'timestamptz', nullable: true })
  connectorLeftAt: Date | null;

  /** When the stored Atlassian account data was last read (reported as `updatedAt`). */
  @Column({ name: 'account_updated_at', type: 'timestamptz', nullable: true })
  accountUpdatedAt: Date | null;

  /** Personal-data reporting: last report of the account, and the lease of a report in progress. */
  @Column({ name: 'account_reported_at', type: 'timestamptz', nullable: true })
  accountReportedAt: Date | null;

  @Column({ name: 'account_report_lease_until', type: 'timestamptz', nullable: true })
  accountReportLeaseUntil: Date | null;

  @Column({ name: 'last_error_code', type: 'text', nullable: true })
  lastErrorCode: string | null;

  @Column({ name: 'last_error_at', type: 'timestamptz', nullable: true })
  lastErrorAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/**
 * Spread into a query builder's `.set()` on jira_integrations for a write that leaves `updated_at`
 * as it is (the builder would otherwise set it to CURRENT_TIMESTAMP), as the raw SQL it replaced did.
 */
export const KEEP_UPDATED_AT = { updatedAt: () => 'updated_at' } as const;
