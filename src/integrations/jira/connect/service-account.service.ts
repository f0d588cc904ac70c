import { HttpStatus, Injectable, Logger, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../common/clock.js';
import { NotificationOutbox } from '../notifications/notification-outbox.js';
import { NotificationType } from '../notifications/notification-types.js';
import { AtlassianGateway, AtlassianTokenError, type TokenSet } from '../atlassian/atlassian.gateway.js';
import type { JiraSite } from '../entities/jira-integration.entity.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { JiraConnectionEvent, type JiraConnectionEventPayload } from '../jira.events.js';
import { TokenSealer, type ClientCredential } from '../tokens/token-sealing.js';
import { JiraWebhookLifecycle } from '../webhooks/jira-webhook-lifecycle.service.js';
import { JiraConnectionService, type ConnectionView } from './jira-connection.service.js';
import { normalizeSiteUrl, tryNormalizeSiteUrl } from './site-url.js';

export interface ServiceAccountInput extends ClientCredential {
  siteUrl: string;
}

const unavailable = (): JiraError =>
  new JiraError(JiraErrorCode.AtlassianUnavailable, HttpStatus.BAD_GATEWAY, 'Atlassian is unavailable',
    'Atlassian did not answer while the service account was checked; nothing was stored. Try again in a minute.');

/**
 * Connects a team through an Atlassian service account's OAuth 2.0 credential (client
 * credentials): checked by minting a token and finding the site among the token's accessible
 * resources before anything is stored. It then takes the team's one integration row (replacing a
 * 3LO grant; a later 3LO connect replaces it in turn), and the token manager mints its tokens on
 * demand under the same lease as refreshes.
 */
@Injectable()
export class JiraServiceAccountService {
  private readonly logger = new Logger(JiraServiceAccountService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly gateway: AtlassianGateway,
    private readonly clock: Clock,
    private readonly outbox: NotificationOutbox,
    private readonly events: EventEmitter2,
    private readonly connections: JiraConnectionService,
    private readonly sealer: TokenSealer,
    @Optional() private readonly webhooks?: JiraWebhookLifecycle,
  ) {}

  async connect(teamId: string, userId: string, input: ServiceAccountInput): Promise<ConnectionView> {
    const siteUrl = normalizeSiteUrl(input.siteUrl);
    const tokens = await this.mint(input);
    const sites = await this.gateway.accessibleResources(tokens.accessToken).catch(() => {
      throw unavailable();
    });
    const site = sites.find((s) => tryNormalizeSiteUrl(s.url) === siteUrl);
    if (!site) {
      throw new JiraError(JiraErrorCode.SiteNotAccessible, HttpStatus.UNPROCESSABLE_ENTITY, 'The service account cannot reach this site',
        `${siteUrl} is not among the sites this credential can access; nothing was stored. In Atlassian Administration, give the `
        + 'service account a Jira role on the site (and the credential the Jira scopes), or choose one of accessibleSites.',
        { extensions: { siteUrl, accessibleSites: sites.map((s) => s.url) } });
    }
    await this.forgetOAuthWebhooks(teamId);
    const integrationId = await this.dataSource.transaction(async (em) => {
      const id = await this.upsert(em, teamId, userId, input, tokens, site);
      await this.outbox.enqueue(em, { type: NotificationType.Connected, teamId,
        data: { cloudId: site.cloudId, siteUrl: site.url, siteName: site.name, connectedByUserId: userId, connectionType: 'service_account' } });
      return id;
    });
    this.logger.log({ msg: 'jira connected with a service account', teamId, userId, cloudId: site.cloudId });
    const event: JiraConnectionEventPayload = { teamId, integrationId, cloudId: site.cloudId };
    this.events.emit(JiraConnectionEvent.Connected, event);
    return this.connections.status(teamId);
  }

  /** One mint with the offered credential: a refusal is the caller's 422, Atlassian's trouble a 502. */
  private async mint(credential: ClientCredential): Promise<TokenSet> {
    try {
      return await this.gateway.mint(credential.clientId, credential.clientSecret);
    } catch (err) {
      if (!(err instanceof AtlassianTokenError)) throw err;
      if (err.verdict.next === 'retry') throw unavailable();
      throw new JiraError(JiraErrorCode.ServiceAccountRejected, HttpStatus.UNPROCESSABLE_ENTITY, 'Atlassian refused the service account credential',
        'The client id or secret is wrong, or the credential was deleted or expired; nothing was stored. Copy the client id and '
        + 'secret of an active OAuth 2.0 credential from Atlassian Administration > Directory > Service accounts.',
        { extensions: { atlassianError: (err.oauthError ?? 'none').slice(0, 64).replace(/[^\w.-]/g, '') } });
    }
  }

  /**
   * A 3LO connection being replaced may have registered dynamic webhooks with its token: delete
   * them while that token still works (bounded, best effort). Service accounts have none.
   */
  private async forgetOAuthWebhooks(teamId: string): Promise<void> {
    if (!this.webhooks) return;
    await this.webhooks.deregisterBeforeDisconnect(teamId).catch((err: unknown) =>
      this.logger.warn(`webhook deregistration before the service account replaced the grant failed: ${String(err)}`));
  }

  /** The team's one row, as a connected service account: nothing of a previous 3LO grant survives. */
  private async upsert(em: EntityManager, teamId: string, userId: string, credential: ClientCredential, tokens: TokenSet,
    site: JiraSite): Promise<string> {
    const now = this.clock.now();
    const [row] = (await em.query(
      `INSERT INTO jira_integrations (team_id, status, connection_type, client_credential, cloud_id, site_url, site_name, available_sites,
         scopes, connected_by_user_id, access_token, refresh_token, access_token_expires_at, token_version, connected_at,
         last_refreshed_at, created_at, updated_at)
       VALUES ($1, 'connected', 'service_account', $2, $3, $4, $5, NULL, $6::text[], $7, $8, NULL, $9, 1, $10, $10, $10, $10)
       ON CONFLICT (team_id) DO UPDATE SET
         status = 'connected', connection_type = 'service_account', client_credential = EXCLUDED.client_credential,
         cloud_id = EXCLUDED.cloud_id, site_url = EXCLUDED.site_url, site_name = EXCLUDED.site_name, available_sites = NULL,
         scopes = EXCLUDED.scopes, connected_by_user_id = EXCLUDED.connected_by_user_id,
         atlassian_account_id = NULL, atlassian_account_name = NULL, access_token = EXCLUDED.access_token, refresh_token = NULL,
         access_token_expires_at = EXCLUDED.access_token_expires_at, token_version = jira_integrations.token_version + 1,
         connected_at = EXCLUDED.connected_at, last_refreshed_at = EXCLUDED.last_refreshed_at,
         last_error_code = NULL, last_error_at = NULL, updated_at = EXCLUDED.updated_at,
         refresh_lease_owner = NULL, refresh_lease_expires_at = NULL, refresh_in_flight_version = NULL, refresh_in_flight_since = NULL,
         -- No user consent, so no consent year, reconsent notices, connector or personal data to report.
         consented_at = NULL, reconsent_notice_days = NULL, connector_left_at = NULL,
         account_updated_at = NULL, account_reported_at = NULL, account_report_lease_until = NULL
       RETURNING id`,
      [
        teamId,
        this.sealer.sealClientCredential(credential, teamId),
        site.cloudId,
        site.url,
        site.name,
        tokens.scopes.length > 0 ? tokens.scopes : site.scopes,
        userId,
        this.sealer.seal(tokens.accessToken, 'access_token', teamId),
        new Date(now.getTime() + tokens.expiresInSeconds * 1000),
        now,
      ],
    )) as { id: string }[];
    return row.id;
  }
}
