/**
 * Notification types sent to the product's backend. The set is open: the column is text and
 * features may add types (webhooks forward Jira events with their own), so receivers must ignore
 * types they do not know. Types are lower case: letters, digits and `_ . : -`.
 */
export const NotificationType = {
  /** A site is bound and tokens are stored. */
  Connected: 'connected',
  /** The team chose among several sites; the connection is now usable. */
  SiteSelected: 'site_selected',
  /** The team's tokens are gone: disconnected by a team admin, or the team was deleted. */
  Disconnected: 'disconnected',
  /** Atlassian refused the stored refresh token: a team admin must connect again. */
  ReauthorizationRequired: 'reauthorization_required',
  /** A connection whose last token refresh had failed refreshed successfully again. */
  Recovered: 'recovered',
  /**
   * The grant's 365-day consent ends soon (`data.consentExpiresAt`, `data.daysLeft`): ask a team
   * admin to reconnect before then. Sent once per threshold (default 30 and 7 days before).
   */
  ReconsentDue: 'reconsent_due',
  /**
   * The user who connected Jira is no longer a member of the team (table policy). The connection
   * keeps working on their grant; ask someone who stays to reconnect.
   */
  ConnectorLeft: 'connector_left',
  /**
   * Atlassian reported the connecting user's account closed; its personal data was erased here.
   * The grant dies with the account: ask a team admin to reconnect.
   */
  ConnectorAccountClosed: 'connector_account_closed',
} as const;

export const NOTIFICATION_TYPE_PATTERN = /^[a-z][a-z0-9_.:-]{0,99}$/;

/** What a feature hands to NotificationOutbox.enqueue. */
export interface NotificationInput {
  type: string;
  teamId: string;
  /** Type-specific details; JSON, never a secret. */
  data?: Record<string, unknown>;
}

/** The JSON body POSTed to NOTIFY_WEBHOOK_URL (identical on every attempt). */
export interface NotificationBody {
  /** Unique per event: receivers deduplicate on it (delivery is at least once). */
  id: string;
  type: string;
  teamId: string;
  /** ISO 8601, when the change committed. */
  occurredAt: string;
  data: Record<string, unknown>;
}
