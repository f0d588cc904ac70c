/*
 * In-process events about a team's Jira connection, emitted through @nestjs/event-emitter AFTER the
 * change has committed. The product's backend hears them out of process through the notifications
 * outbox (src/notifications/), which writes its row inside the same transaction as the change.
 * Webhook registration and other features subscribe here rather than reaching into each other.
 */

export const JiraConnectionEvent = {
  /** A site is bound and tokens are stored (callback with one site, or reconnect). */
  Connected: 'jira.integration.connected',
  /** The team chose among several sites; the connection is now `connected`. */
  SiteSelected: 'jira.integration.site_selected',
  /** The team disconnected (tokens wiped). */
  Disconnected: 'jira.integration.disconnected',
  /** Atlassian refused the stored refresh token: a team admin must connect again. */
  ReauthorizationRequired: 'jira.integration.reauthorization_required',
  /** A connection whose last refresh had failed refreshed successfully again. */
  Recovered: 'jira.integration.recovered',
  /** The product deleted the team (admin API): every row of it is gone. */
  TeamDeleted: 'jira.team.deleted',
} as const;

export type JiraConnectionEventName = (typeof JiraConnectionEvent)[keyof typeof JiraConnectionEvent];

export interface JiraConnectionEventPayload {
  teamId: string;
  /** Null only for TeamDeleted when the team had no integration. */
  integrationId: string | null;
  /** The site, where one is bound. */
  cloudId?: string | null;
}
