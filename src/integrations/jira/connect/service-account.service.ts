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
import { replaceIntegration } from './replace-integration.js';
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
    return replaceIntegration(em, {
      teamId, status: 'connected', connectionType: 'service_account', clientCredential: this.sealer.sealClientCredential(credential, teamId),
      cloudId: site.cloudId, siteUrl: site.url, siteName: site.name, availableSites: null,
      scopes: tokens.scopes.length > 0 ? tokens.scopes : site.scopes, connectedByUserId: userId,
      atlassianAccountId: null, atlassianAccountName: null, accessToken: tokens.accessToken, refreshToken: null,
      accessTokenExpiresAt: new Date(now.getTime() + tokens.expiresInSeconds * 1000), connectedAt: now, lastRefreshedAt: now,
      lastErrorCode: null, lastErrorAt: null,
      refreshLeaseOwner: null, refreshLeaseExpiresAt: null, refreshInFlightVersion: null, refreshInFlightSince: null,
      // No user consent, so no consent year, reconsent notices, connector or personal data to report.
      consentedAt: null, reconsentNoticeDays: null, connectorLeftAt: null,
      accountUpdatedAt: null, accountReportedAt: null, accountReportLeaseUntil: null,
    });
  }
}
