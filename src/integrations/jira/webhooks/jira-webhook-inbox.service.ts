import { createHash } from 'node:crypto';
import { HttpStatus, Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { AppError, CommonErrorCode } from '../common/app-error.js';
import { Clock } from '../common/clock.js';
import { JiraWebhookRegistration } from '../entities/jira-webhook-registration.entity.js';
import { jsonDepth } from '../common/http/body-depth.middleware.js';
import { MAX_BODY_DEPTH } from '../common/http/body-limits.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { NotificationOutbox } from '../notifications/notification-outbox.js';
import { JiraWebhookMetrics } from './jira-webhook.metrics.js';
import { JiraWebhookRegistry } from './jira-webhook.registry.js';
import { webhooksOf } from './jira-webhook-lifecycle.service.js';
import { payloadSite, storableJson } from './webhook-payload.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraSettings } from '../config/jira.config.js';

export interface ReceiveResult {
  status: 'accepted' | 'duplicate' | 'unmatched';
}

const invalid = (detail: string): JiraError =>
  new JiraError(JiraErrorCode.WebhookPayloadInvalid, HttpStatus.BAD_REQUEST, 'Not a Jira webhook payload', detail);

/** A number exponent numeric cannot hold (over about 16,000): such text is stored re-serialised. */
const HUGE_EXPONENT = /\d[eE][+-]?\d{5,}/;

/** The notification type of a forwarded Jira event (NOTIFY_WEBHOOK_URL). */
export const JIRA_WEBHOOK_NOTIFICATION = 'jira.webhook';

const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * Stores a verified delivery in the inbox, once per team and Jira webhook identifier, in one
 * statement per team (insert + last delivery time). The team comes from the payload only: the
 * one site all its `self` links name AND one of `matchedWebhookIds` registered by that team on
 * that site. A payload jsonb cannot hold as it is gets U+FFFD for the offending text, and its
 * exact bytes are kept in `raw_body`; nesting past MAX_BODY_DEPTH is 400 `body_too_deep`.
 */
@Injectable()
export class JiraWebhookInbox {
  private readonly jira: JiraSettings;
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: JiraWebhookMetrics,
    private readonly registry: JiraWebhookRegistry,
    private readonly clock: Clock,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    @Optional() private readonly outbox?: NotificationOutbox,
  ) {
    this.jira = settings.jira;
  }

  async receive(raw: Buffer, headers: Record<string, string | string[] | undefined>): Promise<ReceiveResult> {
    const text = raw.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.metrics.delivery('invalid_payload');
      throw invalid('The body is not JSON.');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      this.metrics.delivery('invalid_payload');
      throw invalid('The body is not a JSON object.');
    }
    if (jsonDepth(parsed, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
      this.metrics.delivery('invalid_payload');
      throw new AppError(CommonErrorCode.BodyTooDeep, HttpStatus.BAD_REQUEST, 'The webhook body is nested too deeply',
        `Deliveries may be nested at most ${MAX_BODY_DEPTH} levels deep; Jira's payloads are far flatter.`);
    }
    const storable = storableJson(parsed);
    // Bytes that were not UTF-8 became U+FFFD when decoded: the raw bytes are kept for those too.
    const keepRaw = storable.changed || HUGE_EXPONENT.test(text) || (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(raw));
    const body = storable.value as Record<string, unknown>;
    const event = body.webhookEvent;
    if (typeof event !== 'string' || event.length === 0 || event.length > 100) {
      this.metrics.delivery('invalid_payload');
      throw invalid('webhookEvent is missing.');
    }
    const header = [headers['x-atlassian-webhook-identifier']].flat()[0];
    // Jira always sends the identifier; without it, identical bodies are treated as one delivery.
    const deliveryId = header && DELIVERY_ID.test(header) ? header : `sha256:${createHash('sha256').update(raw).digest('hex')}`;
    const retryHeader = Number([headers['x-atlassian-webhook-retry']].flat()[0]);
    const matched = Array.isArray(body.matchedWebhookIds)
      ? body.matchedWebhookIds.filter((id): id is number => Number.isSafeInteger(id)).slice(0, 50)
      : [];
    const site = payloadSite(body, this.jira.apiBaseUrl);
    if (matched.length === 0 || !site) return this.outcome('unmatched');

    // Both must match when the links name the site both ways.
    const query = this.dataSource.getRepository(JiraWebhookRegistration).createQueryBuilder('r')
      .select(['r.teamId', 'r.cloudId', 'r.webhooks']).where('r.webhook_ids && CAST(:matched AS bigint[])', { matched });
    if (site.cloudId !== null) query.andWhere('r.cloud_id = :cloudId', { cloudId: site.cloudId });
    if (site.origin !== null) query.andWhere('lower(r.site_url) = :origin', { origin: site.origin });
    const teams = await query.getMany();
    if (teams.length === 0) return this.outcome('unmatched');

    const now = this.clock.now();
    let inserted = 0;
    for (const team of teams) {
      // Which subscriptions matched is fixed now, so a later re-registration cannot orphan the event.
      const keys = webhooksOf(team.webhooks).filter((w) => matched.includes(Number(w.id))).map((w) => w.key);
      const row = { teamId: team.teamId, cloudId: team.cloudId, deliveryId, event, matched, keys, now,
        payload: keepRaw ? JSON.stringify(body) : text, raw: keepRaw ? raw : null,
        retry: Number.isSafeInteger(retryHeader) ? retryHeader : null };
      if (this.outbox?.enabled && this.registry.forwards(keys)) {
        // Standalone server: forwarded to the product's backend, in the same transaction as the insert.
        inserted += await this.dataSource.transaction(async (em) => {
          const id = await this.insert(em, row);
          if (id) {
            await this.outbox!.enqueue(em, { type: JIRA_WEBHOOK_NOTIFICATION, teamId: team.teamId,
              data: { webhookIdentifier: deliveryId, webhookEvent: event, cloudId: team.cloudId, matchedWebhookIds: matched, payload: body } });
          }
          return id ? 1 : 0;
        });
      } else {
        inserted += (await this.insert(this.dataSource.manager, row)) ? 1 : 0;
      }
    }
    return this.outcome(inserted > 0 ? 'accepted' : 'duplicate');
  }

  /** One statement: the event (once per team and delivery id) and the registration's last delivery time. */
  private async insert(em: EntityManager, r: { teamId: string; cloudId: string; deliveryId: string; event: string; matched: number[];
    keys: string[]; payload: string; raw: Buffer | null; now: Date; retry: number | null }): Promise<string | null> {
    // Raw: bench/webhooks.ts measures acknowledged deliveries/s with this one statement a team; the ORM form
    // (an INSERT … orIgnore, then an UPDATE of the registration) is a second round trip in every delivery.
    const rows = (await em.query(
      `WITH ins AS (
         INSERT INTO jira_webhook_events (team_id, cloud_id, delivery_id, webhook_event, matched_webhook_ids, subscription_keys,
           payload, next_attempt_at, jira_retry, received_at, raw_body)
         VALUES ($1, $2, $3, $4, $5::bigint[], $9::text[], $6::jsonb, $7, $8, $7, $10)
         ON CONFLICT (team_id, delivery_id) DO NOTHING RETURNING id),
       seen AS (UPDATE jira_webhook_registrations SET last_delivery_at = $7 WHERE team_id = $1)
       SELECT id FROM ins`,
      [r.teamId, r.cloudId, r.deliveryId, r.event, r.matched, r.payload, r.now, r.retry, r.keys, r.raw])) as { id: string }[];
    return rows[0]?.id ?? null;
  }

  private outcome(status: ReceiveResult['status']): ReceiveResult {
    this.metrics.delivery(status);
    return { status };
  }
}
