import type { Logger } from '@nestjs/common';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import type { DataSource, EntityManager } from 'typeorm';
import type { Clock } from '../common/clock.js';
import type { MetricsService } from '../metrics/metrics.service.js';
import type { NotificationOutbox } from '../notifications/notification-outbox.js';
import { NotificationType } from '../notifications/notification-types.js';
import type { TokenSet } from '../atlassian/atlassian.gateway.js';
import { JiraErrorCode } from '../jira.errors.js';
import { JiraConnectionEvent, type JiraConnectionEventPayload } from '../jira.events.js';
import { reauthorizationRequired } from './jira-token.errors.js';
import type { RefreshLease, RefreshLeaseStore } from './refresh-lease.js';
import type { TokenSealer } from './token-sealing.js';

/** Emitted once when a connection flips to `reauthorization_required` (payload below). */
export const JIRA_REAUTHORIZATION_REQUIRED = JiraConnectionEvent.ReauthorizationRequired;

export interface JiraReauthorizationRequiredEvent {
  teamId: string;
  integrationId: string;
}

/** What one leased refresh came to. `lost`: the lease was taken over before we could finish. */
export type RefreshOutcome =
  | { kind: 'token'; credentials: { accessToken: string; cloudId: string; expiresAt: Date } | null }
  | { kind: 'skipped' | 'lost' };

/**
 * The two definite ends of a leased refresh, written to the row: new tokens stored (the
 * conditional write), or the grant declared dead (invalid_grant). Each records its notification
 * in the same short transaction and emits its in-process event after the commit.
 */
export class RefreshResults {
  constructor(
    private readonly dataSource: DataSource,
    private readonly leases: RefreshLeaseStore,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
    private readonly metrics: MetricsService,
    private readonly outbox: NotificationOutbox,
    private readonly logger: Logger,
    private readonly sealer: TokenSealer,
  ) {}

  /** The conditional write of the new tokens, in a short transaction (the outbox joins it). */
  /** `presented`: the refresh token that was presented; undefined for a service account's mint (it has none). */
  async store(lease: RefreshLease, tokens: TokenSet, presented: string | undefined): Promise<RefreshOutcome> {
    if (!tokens.refreshToken && presented) this.logger.warn(`Atlassian returned no refresh token for team ${lease.teamId}; keeping the stored one`);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + tokens.expiresInSeconds * 1000);
    const sealed = {
      accessTokenEnvelope: this.sealer.seal(tokens.accessToken, 'access_token', lease.teamId),
      refreshTokenEnvelope: presented ? this.sealer.seal(tokens.refreshToken ?? presented, 'refresh_token', lease.teamId) : null,
      expiresAt,
      scopes: tokens.scopes,
      now,
    };
    // One statement when there is no status transition; otherwise the transaction the outbox joins.
    const written = await this.leases.completeQuietly(lease, sealed) ? { previousErrorCode: null }
      : await this.dataSource.transaction(async (em) => {
        const done = await this.leases.complete(em, lease, sealed);
        if (done?.previousErrorCode) await this.notifyInTransaction(em, NotificationType.Recovered, lease);
        return done;
      });
    if (!written) {
      // Our lease lapsed and the row moved on: which refresh token is current is now unknown.
      await this.leases.markOutcomeUnknown(lease.integrationId, lease.version);
      this.logger.warn(`Refresh lease of team ${lease.teamId} lapsed before its result was stored; the recovery sweep re-joins the chain`);
      return { kind: 'lost' };
    }
    this.metrics.refreshCompleted(lease.resumesUnknownOutcome ? 'recovered' : 'success');
    if (lease.resumesUnknownOutcome) this.logger.log(`Finished an interrupted Jira token refresh for team ${lease.teamId}`);
    if (written.previousErrorCode) {
      const event: JiraConnectionEventPayload = { teamId: lease.teamId, integrationId: lease.integrationId, cloudId: lease.cloudId };
      this.events.emit(JiraConnectionEvent.Recovered, event);
    }
    return {
      kind: 'token',
      credentials: lease.cloudId ? { accessToken: tokens.accessToken, cloudId: lease.cloudId, expiresAt } : null,
    };
  }

  /**
   * Atlassian refused the stored refresh token or service-account credential (or there is none):
   * wipe, in a short transaction, then tell.
   */
  async reauthorizationRequired(lease: RefreshLease): Promise<never> {
    const transitioned = await this.dataSource.transaction(async (em) => {
      const changed = await this.leases.markReauthorizationRequired(em, lease, JiraErrorCode.ReauthorizationRequired);
      if (changed) await this.notifyInTransaction(em, NotificationType.ReauthorizationRequired, lease);
      return changed;
    });
    if (transitioned) {
      this.metrics.refreshCompleted('invalid_grant');
      this.logger.warn(`Atlassian rejected the ${lease.connectionType === 'service_account' ? 'service-account credential' : 'refresh token'}`
        + ` of team ${lease.teamId}; reauthorization required`);
      const event: JiraReauthorizationRequiredEvent = { teamId: lease.teamId, integrationId: lease.integrationId };
      this.events.emit(JIRA_REAUTHORIZATION_REQUIRED, event);
    }
    throw reauthorizationRequired();
  }

  /** Notifications to the product (issue 9, src/notifications/): recorded in the refresh's own transaction. */
  private notifyInTransaction(em: EntityManager, type: string, lease: RefreshLease): Promise<string | null> {
    return this.outbox.enqueue(em, { type, teamId: lease.teamId, data: { cloudId: lease.cloudId } });
  }
}
