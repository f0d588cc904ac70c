import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { IsNull, Not, type DataSource, type Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { Clock } from '../common/clock.js';
import { JiraIntegration } from '../entities/jira-integration.entity.js';
import { JiraWebhookDelivery } from '../entities/jira-webhook-delivery.entity.js';
import { JiraWebhookRegistration } from '../entities/jira-webhook-registration.entity.js';
import { JiraClient } from '../client/jira-client.js';
import { JiraConnectionEvent, type JiraConnectionEventPayload } from '../jira.events.js';
import { JiraError } from '../jira.errors.js';
import { deleteWebhooks, listWebhooks, refreshWebhooks, registerWebhooks } from './jira-webhook.api.js';
import { JiraWebhookMetrics } from './jira-webhook.metrics.js';
import { JiraWebhookRegistry } from './jira-webhook.registry.js';

/** A registration failing is retried this soon rather than at the next daily check. */
const RETRY_AFTER_FAILURE_MS = 15 * 60_000;
/**
 * One instance renews a team at a time; a lease left by a dead instance expires after this. A
 * per-team lease on the registration row, not a job of the runner (jobs/): connect and site-choice
 * events take it on the request path as well as the renewal job, by team rather than by due time.
 */
export const REGISTRATION_LEASE_MS = 2 * 60_000;
/** Disconnect waits at most this long for Jira to delete the webhooks. */
const DEREGISTER_TIMEOUT_MS = 5_000;

export type WebhookState = 'disabled' | 'unsupported' | 'not_registered' | 'pending' | 'active' | 'failed' | 'inactive' | 'expired';

export interface WebhookStatus {
  state: WebhookState;
  expiresAt: Date | null;
  lastDeliveryAt: Date | null;
}

export interface StoredWebhook {
  key: string;
  id: number;
}

type RegistrationRow = Pick<JiraWebhookRegistration, 'teamId' | 'cloudId' | 'state' | 'webhooks' | 'expiresAt' | 'lastDeliveryAt'>;

export const webhooksOf = (v: RegistrationRow['webhooks']): StoredWebhook[] => v as StoredWebhook[];
const errorCode = (err: unknown): string =>
  err instanceof JiraError ? (err.extensions.jiraStatus ? `${err.code}:${String(err.extensions.jiraStatus)}` : err.code) : 'internal_error';

/**
 * Owns every team's Jira webhooks: registered when the connection reaches `connected` (callback,
 * site selection, reconnect), verified and refreshed by JiraWebhookRenewalJob, re-registered when
 * Jira no longer lists them, deleted on disconnect (before the tokens are wiped). Reauthorization
 * and team deletion only forget them locally: the token is already gone by then.
 */
@Injectable()
export class JiraWebhookLifecycle {
  private readonly logger = new Logger(JiraWebhookLifecycle.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jira: JiraClient,
    private readonly registry: JiraWebhookRegistry,
    private readonly metrics: JiraWebhookMetrics,
    private readonly clock: Clock,
  ) {}

  private get registrations(): Repository<JiraWebhookRegistration> {
    return this.dataSource.getRepository(JiraWebhookRegistration);
  }

  @OnEvent(JiraConnectionEvent.Connected, { async: true, promisify: true, suppressErrors: true })
  @OnEvent(JiraConnectionEvent.SiteSelected, { async: true, promisify: true, suppressErrors: true })
  async onConnected(event: JiraConnectionEventPayload): Promise<void> {
    if (!this.registry.enabled) return;
    await this.ensureNow(event.teamId).catch((err: unknown) => this.logger.error(`webhook registration for ${event.teamId} failed: ${String(err)}`));
  }

  @OnEvent(JiraConnectionEvent.ReauthorizationRequired, { async: true, promisify: true, suppressErrors: true })
  async onReauthorizationRequired(event: JiraConnectionEventPayload): Promise<void> {
    // The grant is dead and its token wiped: Jira stops delivering; nothing can be deleted.
    const now = this.clock.now();
    await this.registrations.update({ teamId: event.teamId },
      { state: 'inactive', lastErrorCode: 'jira_reauthorization_required', lastErrorAt: now, updatedAt: now });
  }

  @OnEvent(JiraConnectionEvent.TeamDeleted, { async: true, promisify: true, suppressErrors: true })
  async onTeamDeleted(event: JiraConnectionEventPayload): Promise<void> {
    await this.registrations.delete({ teamId: event.teamId });
    await this.dataSource.getRepository(JiraWebhookDelivery).delete({ teamId: event.teamId, status: 'pending' });
  }

  /** Claims the team's row (creating it) and registers/refreshes now. False when another instance holds it. */
  async ensureNow(teamId: string): Promise<boolean> {
    const now = this.clock.now();
    const site = await this.dataSource.getRepository(JiraIntegration).findOne({
      select: { id: true, cloudId: true, siteUrl: true }, where: { teamId, cloudId: Not(IsNull()), connectionType: 'oauth' },
    });
    if (site) {
      await this.registrations.createQueryBuilder().insert()
        .values({ teamId, cloudId: site.cloudId!, siteUrl: site.siteUrl, state: 'pending', nextCheckAt: now, createdAt: now, updatedAt: now })
        .orIgnore().updateEntity(false).execute();
    }
    const { affected } = await this.registrations.createQueryBuilder().update().set({ leaseUntil: new Date(now.getTime() + REGISTRATION_LEASE_MS) })
      .where('team_id = :teamId AND (lease_until IS NULL OR lease_until <= :now)', { teamId, now }).execute();
    if (!affected) return false;
    await this.ensureClaimed(teamId);
    return true;
  }

  /**
   * With the team's lease held: list the app's webhooks at Jira, keep ours that are still there,
   * register the missing ones, delete ours no subscription wants any more, refresh all of them,
   * and store the result (releasing the lease).
   */
  async ensureClaimed(teamId: string): Promise<void> {
    const now = this.clock.now();
    const found = await this.dataSource.getRepository(JiraIntegration).findOne({
      select: { id: true, status: true, cloudId: true, siteUrl: true, connectionType: true }, where: { teamId } });
    // Service accounts cannot use dynamic webhooks (3LO apps only): nothing to register or keep.
    const integration = found?.connectionType === 'service_account' ? undefined : found;
    const row = await this.read(teamId);
    if (!integration || integration.status !== 'connected' || !integration.cloudId || !this.registry.enabled) {
      if (!integration) await this.registrations.delete({ teamId });
      else await this.store(teamId, { state: 'inactive', nextCheckAt: new Date(now.getTime() + this.checkIntervalMs) });
      return;
    }
    const sameSite = row?.cloudId === integration.cloudId;
    const stored = sameSite && row ? webhooksOf(row.webhooks) : [];
    const client = this.jira.forTeam(teamId);
    try {
      const listed = new Set((await listWebhooks(client)).map((w) => w.id));
      const wanted = new Map(this.registry.subscriptions.map((s) => [s.key, s]));
      const keep = stored.filter((w) => wanted.has(w.key) && listed.has(w.id));
      const unwanted = stored.filter((w) => !wanted.has(w.key) && listed.has(w.id)).map((w) => w.id);
      const missing = [...wanted.values()].filter((s) => !keep.some((k) => k.key === s.key));
      const lost = missing.filter((s) => stored.some((w) => w.key === s.key)).length;
      const errors: string[] = [];
      if (missing.length > 0) {
        const results = await registerWebhooks(client, this.registry.url!, missing);
        results.forEach((r, i) => {
          if ('id' in r) keep.push({ key: missing[i].key, id: r.id });
          else errors.push(...r.errors);
        });
        this.metrics.registration('registered', results.filter((r) => 'id' in r).length);
        this.metrics.registration('failed', results.filter((r) => 'errors' in r).length);
      }
      if (unwanted.length > 0) await deleteWebhooks(client, unwanted).then(() => this.metrics.registration('deleted', unwanted.length));
      const expiresAt = keep.length > 0 ? await refreshWebhooks(client, keep.map((k) => k.id)) : null;
      if (stored.length > 0) this.metrics.renewal(lost > 0 ? 'reregistered' : 'refreshed');
      if (lost > 0) this.logger.warn({ teamId, lost, msg: 'Jira no longer listed some webhooks; registered them again' });
      await this.store(teamId, {
        state: errors.length > 0 ? 'failed' : 'active',
        cloudId: integration.cloudId,
        siteUrl: integration.siteUrl,
        webhooks: keep,
        expiresAt,
        refreshedAt: now,
        error: errors.length > 0 ? 'jira_webhook_registration_rejected' : null,
        nextCheckAt: new Date(now.getTime() + (errors.length > 0 ? RETRY_AFTER_FAILURE_MS : this.checkIntervalMs)),
      });
      if (errors.length > 0) this.logger.error({ teamId, errors, msg: 'Jira refused webhook registrations' });
    } catch (err) {
      if (stored.length > 0) this.metrics.renewal('failed');
      this.logger.warn({ teamId, problemCode: errorCode(err), msg: 'jira webhook registration/renewal failed' });
      await this.store(teamId, {
        state: row?.state === 'active' && sameSite ? 'active' : 'failed',
        error: errorCode(err),
        nextCheckAt: new Date(now.getTime() + RETRY_AFTER_FAILURE_MS),
      });
    }
  }

  /**
   * Called by disconnect BEFORE the tokens are wiped: deletes the team's webhooks at Jira, best
   * effort and bounded (never blocks or fails the disconnect), then forgets the registration.
   */
  async deregisterBeforeDisconnect(teamId: string): Promise<void> {
    const row = await this.read(teamId);
    const ids = row ? webhooksOf(row.webhooks).map((w) => w.id) : [];
    if (ids.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), DEREGISTER_TIMEOUT_MS);
      });
      try {
        await Promise.race([deleteWebhooks(this.jira.forTeam(teamId), ids), timeout]);
        this.metrics.registration('deleted', ids.length);
      } catch (err) {
        this.metrics.registration('delete_failed', ids.length);
        this.logger.warn({ teamId, problemCode: errorCode(err), msg: 'could not delete Jira webhooks on disconnect; they expire within 30 days' });
      } finally {
        clearTimeout(timer);
      }
    }
    await this.registrations.delete({ teamId });
  }

  /** `webhooks` in the connection status. */
  async statusOf(teamId: string): Promise<WebhookStatus> {
    if (!this.registry.enabled) return { state: 'disabled', expiresAt: null, lastDeliveryAt: null };
    const row = await this.read(teamId);
    if (!row) return { state: 'not_registered', expiresAt: null, lastDeliveryAt: null };
    const expiresAt = row.expiresAt;
    const expired = row.state === 'active' && expiresAt !== null && expiresAt.getTime() <= this.clock.nowMs();
    return { state: expired ? 'expired' : row.state, expiresAt, lastDeliveryAt: row.lastDeliveryAt };
  }

  private get checkIntervalMs(): number {
    return this.registry.checkIntervalMs;
  }

  private read(teamId: string): Promise<RegistrationRow | null> {
    return this.registrations.findOne({
      select: { teamId: true, cloudId: true, state: true, webhooks: true, expiresAt: true, lastDeliveryAt: true }, where: { teamId } });
  }

  /** Writes the outcome and releases the lease. Fields left undefined keep their value. */
  private async store(teamId: string, v: {
    state: RegistrationRow['state'];
    cloudId?: string;
    siteUrl?: string | null;
    webhooks?: StoredWebhook[];
    expiresAt?: Date | null;
    refreshedAt?: Date;
    error?: string | null;
    nextCheckAt: Date;
  }): Promise<void> {
    const now = this.clock.now();
    const set: QueryDeepPartialEntity<JiraWebhookRegistration> = { state: v.state, nextCheckAt: v.nextCheckAt, leaseUntil: null, updatedAt: now };
    if (v.cloudId !== undefined) Object.assign(set, { cloudId: v.cloudId, siteUrl: v.siteUrl ?? null });
    if (v.webhooks) Object.assign(set, { webhooks: v.webhooks, webhookIds: v.webhooks.map((w) => String(w.id)), expiresAt: v.expiresAt ?? null });
    if (v.refreshedAt) set.lastRefreshedAt = v.refreshedAt;
    if (v.error !== undefined) Object.assign(set, { lastErrorCode: v.error, lastErrorAt: v.error === null ? null : now });
    await this.registrations.update({ teamId }, set);
  }
}
