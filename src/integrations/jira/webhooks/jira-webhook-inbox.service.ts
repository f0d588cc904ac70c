import { createHash } from 'node:crypto';
import { HttpStatus, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../../common/clock.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { NotificationOutbox } from '../../../notifications/notification-outbox.js';
import { JiraWebhookMetrics } from './jira-webhook.metrics.js';
import { JiraWebhookRegistry } from './jira-webhook.registry.js';
import { type StoredWebhook, webhooksOf } from './jira-webhook-lifecycle.service.js';

export interface ReceiveResult {
  status: 'accepted' | 'duplicate' | 'unmatched';
}

/** The site a payload comes from: `self` links are site URLs, or gateway URLs naming the cloudId. */
export interface PayloadSite {
  origin: string | null;
  cloudId: string | null;
}

const invalid = (detail: string): JiraError =>
  new JiraError(JiraErrorCode.WebhookPayloadInvalid, HttpStatus.BAD_REQUEST, 'Not a Jira webhook payload', detail);

/** The notification type of a forwarded Jira event (NOTIFY_WEBHOOK_URL). */
export const JIRA_WEBHOOK_NOTIFICATION = 'jira.webhook';

const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,200}$/;

/** Reads the site off the payload's `self` links (issue, comment, user, worklog, ...). */
export function payloadSite(payload: Record<string, unknown>): PayloadSite {
  const links: unknown[] = [];
  for (const value of Object.values(payload)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) links.push((value as { self?: unknown }).self);
  }
  for (const link of links) {
    if (typeof link !== 'string') continue;
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      continue;
    }
    const gateway = /^\/ex\/jira\/([^/]+)\//.exec(url.pathname);
    if (gateway) return { origin: null, cloudId: decodeURIComponent(gateway[1]) };
    if (url.protocol === 'https:' || url.protocol === 'http:') return { origin: url.origin.toLowerCase(), cloudId: null };
  }
  return { origin: null, cloudId: null };
}

/**
 * Stores a verified delivery in the inbox, once per team and Jira webhook identifier, in one
 * statement per team (insert + last delivery time). The team comes from the payload only: the
 * site of its `self` links AND one of `matchedWebhookIds` registered by that team on that site.
 */
@Injectable()
export class JiraWebhookInbox {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: JiraWebhookMetrics,
    private readonly registry: JiraWebhookRegistry,
    private readonly clock: Clock,
    @Optional() private readonly outbox?: NotificationOutbox,
  ) {}

  async receive(raw: Buffer, headers: Record<string, string | string[] | undefined>): Promise<ReceiveResult> {
    let payload: unknown;
    try {
      payload = JSON.parse(raw.toString('utf8'));
    } catch {
      this.metrics.delivery('invalid_payload');
      throw invalid('The body is not JSON.');
    }
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
      this.metrics.delivery('invalid_payload');
      throw invalid('The body is not a JSON object.');
    }
    const body = payload as Record<string, unknown>;
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
    const site = payloadSite(body);
    if (matched.length === 0 || (!site.origin && !site.cloudId)) return this.outcome('unmatched');

    const teams = (await this.dataSource.query(
      `SELECT team_id, cloud_id, webhooks FROM jira_webhook_registrations
        WHERE (cloud_id = $1 OR lower(site_url) = $2) AND webhook_ids && $3::bigint[]`,
      [site.cloudId, site.origin, matched])) as { team_id: string; cloud_id: string; webhooks: StoredWebhook[] | string }[];
    if (teams.length === 0) return this.outcome('unmatched');

    const now = this.clock.now();
    let inserted = 0;
    for (const team of teams) {
      // Which subscriptions matched is fixed now, so a later re-registration cannot orphan the event.
      const keys = webhooksOf(team.webhooks).filter((w) => matched.includes(Number(w.id))).map((w) => w.key);
      const row = { teamId: team.team_id, cloudId: team.cloud_id, deliveryId, event, matched, keys, raw, now,
        retry: Number.isSafeInteger(retryHeader) ? retryHeader : null };
      if (this.outbox?.enabled && this.registry.forwards(keys)) {
        // Standalone server: forwarded to the product's backend, in the same transaction as the insert.
        inserted += await this.dataSource.transaction(async (em) => {
          const id = await this.insert(em, row);
          if (id) {
            await this.outbox!.enqueue(em, { type: JIRA_WEBHOOK_NOTIFICATION, teamId: team.team_id,
              data: { webhookIdentifier: deliveryId, webhookEvent: event, cloudId: team.cloud_id, matchedWebhookIds: matched, payload: body } });
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
    keys: string[]; raw: Buffer; now: Date; retry: number | null }): Promise<string | null> {
    const rows = (await em.query(
      `WITH ins AS (
         INSERT INTO jira_webhook_events (team_id, cloud_id, delivery_id, webhook_event, matched_webhook_ids, subscription_keys,
           payload, next_attempt_at, jira_retry, received_at)
         VALUES ($1, $2, $3, $4, $5::bigint[], $9::text[], $6::jsonb, $7, $8, $7)
         ON CONFLICT (team_id, delivery_id) DO NOTHING RETURNING id),
       seen AS (UPDATE jira_webhook_registrations SET last_delivery_at = $7 WHERE team_id = $1)
       SELECT id FROM ins`,
      [r.teamId, r.cloudId, r.deliveryId, r.event, r.matched, r.raw.toString('utf8'), r.now, r.retry, r.keys])) as { id: string }[];
    return rows[0]?.id ?? null;
  }

  private outcome(status: ReceiveResult['status']): ReceiveResult {
    this.metrics.delivery(status);
    return { status };
  }
}
