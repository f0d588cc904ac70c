import { HttpStatus, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { NotificationOutbox } from '../notifications/notification-outbox.js';
import { NotificationType } from '../notifications/notification-types.js';
import { JIRA_TEAM_ACCESS, type TeamAccessPolicy } from '../teams/team-access.policy.js';
import { AtlassianGateway, AtlassianTokenError, type AtlassianAccount, type TokenSet } from '../atlassian/atlassian.gateway.js';
import type { JiraSite } from '../entities/jira-integration.entity.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { JobRunner } from '../jobs/job-runner.js';
import { JiraConnectionEvent, type JiraConnectionEventPayload } from '../jira.events.js';
import { OAuthStateStore, type ConsumedState } from './oauth-state.store.js';
import { replaceIntegration } from './replace-integration.js';
import { normalizeSiteUrl, tryNormalizeSiteUrl } from './site-url.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraSettings } from '../config/jira.config.js';

/** How often spent OAuth states are purged, across all instances. */
const STATE_PURGE_EVERY_MS = 60 * 60_000;

export interface AuthorizeInput {
  siteUrl?: string;
  returnTo?: string;
}

export interface AuthorizeResult {
  authorizationUrl: string;
  expiresAt: Date;
  cookie: { name: string; value: string; path: string; secure: boolean; maxAgeMs: number };
}

export interface PublicSite {
  cloudId: string;
  url: string;
  name: string;
}

export interface ConnectResult {
  status: 'connected' | 'pending_site_selection';
  site: PublicSite | null;
  availableSites?: PublicSite[];
}

/**
 * What the callback did; the controller turns it into a redirect (with returnTo) or JSON, and
 * clears the binding cookie only when the state was consumed or can never succeed (`clearCookie`).
 */
export type CallbackOutcome =
  | { ok: true; returnTo: string | null; result: ConnectResult; clearCookie: true }
  | { ok: false; returnTo: string | null; error: JiraError; clearCookie: boolean };

export interface CallbackParams {
  state?: string;
  code?: string;
  error?: string;
}

export const publicSite = (s: { cloudId: string; url: string; name: string }): PublicSite => ({
  cloudId: s.cloudId, url: s.url, name: s.name,
});

/**
 * The OAuth 2.0 (3LO) connect flow: authorization URLs, the callback (state check, code exchange,
 * site binding) and the one write that stores the team's tokens (replaceIntegration).
 */
@Injectable()
export class JiraOAuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger(JiraOAuthService.name);

  private readonly config: JiraSettings;
  constructor(
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    private readonly gateway: AtlassianGateway,
    private readonly states: OAuthStateStore,
    @Inject(JIRA_TEAM_ACCESS) private readonly policy: TeamAccessPolicy,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly outbox: NotificationOutbox,
    private readonly events: EventEmitter2,
    private readonly runner: JobRunner,
  ) {
    this.config = settings.jira;
  }

  /** With Atlassian configured, the hourly purge of spent OAuth states (a periodic job of the runner). */
  onApplicationBootstrap(): void {
    if (!this.config.configured) return;
    this.runner.every({ name: 'jira-oauth-state-purge', everyMs: STATE_PURGE_EVERY_MS, run: () => this.states.purgeExpired() });
  }

  async authorize(teamId: string, userId: string, input: AuthorizeInput): Promise<AuthorizeResult> {
    if (!this.config.configured) {
      throw new JiraError(JiraErrorCode.NotConfigured, HttpStatus.SERVICE_UNAVAILABLE, 'Jira is not configured',
        'The operator has not set JIRA_CLIENT_ID, JIRA_CLIENT_SECRET and JIRA_REDIRECT_URI. Ask them to configure the Atlassian app.');
    }
    // @IsOptional() lets an explicit null through: treat it as absent (it used to be a 500).
    const siteHint = input.siteUrl != null ? normalizeSiteUrl(input.siteUrl) : null;
    const returnTo = input.returnTo != null ? this.checkReturnTo(input.returnTo) : null;
    const issued = await this.states.issue({ teamId, userId, siteHint, returnTo });
    this.logger.log({ teamId, userId, siteHint, msg: 'jira authorization started' });
    return {
      authorizationUrl: this.gateway.authorizeUrl(issued.state),
      expiresAt: issued.expiresAt,
      cookie: {
        name: issued.cookieName,
        value: issued.cookieValue,
        ...this.cookieScope(),
        maxAgeMs: issued.expiresAt.getTime() - this.clock.nowMs(),
      },
    };
  }

  /** The binding cookie lives on the callback path only, Secure when the callback is https. */
  cookieScope(): { path: string; secure: boolean } {
    const redirect = new URL(this.config.redirectUri ?? 'http://localhost/api/integrations/jira/oauth/callback');
    return { path: redirect.pathname, secure: redirect.protocol === 'https:' };
  }

  /**
   * Never throws a JiraError: every failure travels back to the app. A known state's failure goes
   * to its flow's returnTo; an unknown or absent state's to OAUTH_DEFAULT_RETURN_URL (or null:
   * problem JSON). Every failure is logged with its problem code.
   */
  async callback(params: CallbackParams, cookieValue: string | undefined): Promise<CallbackOutcome> {
    if (!params.state) {
      const error = new JiraError(JiraErrorCode.StateMissing, HttpStatus.BAD_REQUEST, 'OAuth state missing',
        'The callback has no state parameter. Start connecting Jira again from the app.');
      this.metrics.oauthFlowCompleted('rejected_state');
      this.logger.warn({ problemCode: error.code, msg: 'jira authorization callback rejected' });
      return { ok: false, returnTo: this.config.defaultReturnUrl, error, clearCookie: false };
    }
    const consumed = await this.states.consume(params.state, cookieValue);
    if (!consumed.ok) {
      this.metrics.oauthFlowCompleted('rejected_state');
      this.logger.warn({ teamId: consumed.teamId ?? undefined, problemCode: consumed.error.code, msg: 'jira authorization callback rejected' });
      const returnTo = consumed.known ? consumed.returnTo : this.config.defaultReturnUrl;
      return { ok: false, returnTo, error: consumed.error, clearCookie: consumed.final };
    }
    const flow = consumed.flow;
    try {
      const result = await this.finish(flow, params);
      this.metrics.oauthFlowCompleted(result.status);
      this.logger.log({ teamId: flow.teamId, status: result.status, cloudId: result.site?.cloudId, msg: 'jira authorization completed' });
      return { ok: true, returnTo: flow.returnTo, result, clearCookie: true };
    } catch (err) {
      this.metrics.oauthFlowCompleted(err instanceof JiraError && err.code === JiraErrorCode.AccessDenied ? 'denied' : 'error');
      if (!(err instanceof JiraError)) throw err;
      this.logger.warn({ teamId: flow.teamId, problemCode: err.code, msg: 'jira authorization failed' });
      return { ok: false, returnTo: flow.returnTo, error: err, clearCookie: true };
    }
  }

  private async finish(flow: ConsumedState, params: CallbackParams): Promise<ConnectResult> {
    if (params.error) {
      if (params.error === 'access_denied') {
        throw new JiraError(JiraErrorCode.AccessDenied, HttpStatus.FORBIDDEN, 'Access to Jira was not granted',
          'The Atlassian consent screen was declined. Start again and choose Accept to connect Jira.');
      }
      throw new JiraError(JiraErrorCode.AuthorizationFailed, HttpStatus.BAD_GATEWAY, 'Atlassian refused the authorization',
        'Atlassian reported an error during consent. Try again; if it persists, ask the operator to check the Atlassian app.',
        { extensions: { atlassianError: params.error.slice(0, 64).replace(/[^\w.-]/g, '') } });
    }
    if (!params.code) {
      throw new JiraError(JiraErrorCode.AuthorizationFailed, HttpStatus.BAD_REQUEST, 'Authorization code missing',
        'Atlassian sent no code. Start connecting Jira again from the app.');
    }
    // The initiator may have lost their role in the ten minutes since authorize (unless the policy
    // reads roles from the token, which the browser's callback does not carry).
    const role = this.policy.answersWithoutToken ? await this.policy.roleOf(flow.teamId, flow.userId) : 'owner';
    if (role !== 'owner' && role !== 'admin') {
      throw new JiraError(JiraErrorCode.AuthorizationFailed, HttpStatus.FORBIDDEN, 'No longer allowed to connect Jira',
        'You are no longer an owner or admin of this team.');
    }
    const tokens = await this.exchange(params.code);
    const sites = await this.gateway.accessibleResources(tokens.accessToken).catch(() => {
      throw new JiraError(JiraErrorCode.AtlassianUnavailable, HttpStatus.BAD_GATEWAY, 'Atlassian is unavailable',
        'Could not list the Jira sites you granted. Try connecting again in a minute.');
    });
    if (sites.length === 0) {
      throw new JiraError(JiraErrorCode.NoAccessibleSites, HttpStatus.UNPROCESSABLE_ENTITY, 'No Jira site was granted',
        'The Atlassian account has no Jira Cloud site this app may access. Choose a site on the consent screen.');
    }
    const account = await this.gateway.me(tokens.accessToken).catch((): AtlassianAccount | null => null);
    const chosen = this.chooseSite(sites, flow.siteHint);
    await this.store(flow, tokens, sites, chosen, account);
    return chosen
      ? { status: 'connected', site: publicSite(chosen) }
      : { status: 'pending_site_selection', site: null, availableSites: sites.map(publicSite) };
  }

  /** The site matching the requested URL, else the only one; never the first of several. */
  private chooseSite(sites: JiraSite[], siteHint: string | null): JiraSite | null {
    if (siteHint) {
      const match = sites.find((s) => tryNormalizeSiteUrl(s.url) === siteHint);
      if (match) return match;
    }
    return sites.length === 1 ? sites[0] : null;
  }

  private async exchange(code: string): Promise<TokenSet> {
    try {
      return await this.gateway.exchangeCode(code);
    } catch (err) {
      if (!(err instanceof AtlassianTokenError)) throw err;
      if (err.kind === 'transient') {
        throw new JiraError(JiraErrorCode.AtlassianUnavailable, HttpStatus.BAD_GATEWAY, 'Atlassian is unavailable',
          'Atlassian did not answer the code exchange. Start connecting Jira again in a minute.');
      }
      if (err.kind === 'client_rejected') {
        throw new JiraError(JiraErrorCode.AtlassianClientRejected, HttpStatus.BAD_GATEWAY, 'Atlassian rejected this app',
          'The Atlassian app credentials or redirect URI were refused. Ask the operator to check JIRA_CLIENT_ID, JIRA_CLIENT_SECRET and JIRA_REDIRECT_URI.');
      }
      throw new JiraError(JiraErrorCode.CodeExchangeFailed, HttpStatus.BAD_REQUEST, 'Authorization code rejected',
        'Atlassian did not accept the authorization code (used or expired). Start connecting Jira again.');
    }
  }

  /**
   * One upsert on team_id: tokens (encrypted), expiry, scopes, site and who connected; with a site
   * bound, the `connected` notification in the same transaction and the in-process event after it.
   */
  private async store(flow: ConsumedState, tokens: TokenSet, sites: JiraSite[], chosen: JiraSite | null,
    account: AtlassianAccount | null): Promise<void> {
    // Written only if no newer authorize superseded this flow meanwhile (see completeIfCurrent).
    const integrationId = await this.states.completeIfCurrent(flow, async (em) => {
      const id = await this.upsert(em, flow, tokens, sites, chosen, account);
      if (chosen) {
        await this.outbox.enqueue(em, { type: NotificationType.Connected, teamId: flow.teamId,
          data: { cloudId: chosen.cloudId, siteUrl: chosen.url, siteName: chosen.name, connectedByUserId: flow.userId } });
      }
      return id;
    });
    if (chosen) {
      const event: JiraConnectionEventPayload = { teamId: flow.teamId, integrationId, cloudId: chosen.cloudId };
      this.events.emit(JiraConnectionEvent.Connected, event);
    }
  }

  private async upsert(em: EntityManager, flow: ConsumedState, tokens: TokenSet, sites: JiraSite[], chosen: JiraSite | null,
    account: AtlassianAccount | null): Promise<string> {
    const now = this.clock.now();
    return replaceIntegration(em, {
      teamId: flow.teamId, status: chosen ? 'connected' : 'pending_site_selection', connectionType: 'oauth', clientCredential: null,
      cloudId: chosen?.cloudId ?? null, siteUrl: chosen?.url ?? null, siteName: chosen?.name ?? null, availableSites: sites,
      scopes: tokens.scopes.length > 0 ? tokens.scopes : this.config.scopes, connectedByUserId: flow.userId,
      atlassianAccountId: account?.accountId ?? null, atlassianAccountName: account?.name ?? null,
      accessToken: tokens.accessToken, refreshToken: tokens.refreshToken ?? null,
      accessTokenExpiresAt: new Date(now.getTime() + tokens.expiresInSeconds * 1000), connectedAt: now, lastRefreshedAt: null,
      lastErrorCode: null, lastErrorAt: null,
      refreshLeaseOwner: null, refreshLeaseExpiresAt: null, refreshInFlightVersion: null, refreshInFlightSince: null,
      // A new consent starts a new 365-day year, by whoever connected now.
      consentedAt: now, reconsentNoticeDays: null, connectorLeftAt: null,
      accountUpdatedAt: account ? now : null, // when the stored account data was read (personal-data reporting's updatedAt)
      accountReportedAt: null,
    });
  }

  /** `returnTo` must be an absolute http(s) URL on an allow-listed origin (no open redirect). */
  private checkReturnTo(value: string): string {
    let url: URL | null = null;
    try {
      url = new URL(value);
    } catch {
      /* reported below */
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password
      || !this.config.returnOrigins.includes(url.origin)) {
      throw new JiraError(JiraErrorCode.ReturnToNotAllowed, HttpStatus.BAD_REQUEST, 'returnTo is not allowed',
        'returnTo must be an absolute URL on one of the origins in OAUTH_RETURN_ORIGINS.',
        { extensions: { allowedOrigins: this.config.returnOrigins } });
    }
    url.hash = '';
    return url.toString();
  }
}
