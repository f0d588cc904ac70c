import { createHash } from 'node:crypto';
import { assertWebhookJql } from './webhook-jql.js';

/** The events a dynamic (REST-registered) webhook can carry, per Jira's REST reference. */
export const JIRA_WEBHOOK_EVENTS = [
  'jira:issue_created',
  'jira:issue_updated',
  'jira:issue_deleted',
  'comment_created',
  'comment_updated',
  'comment_deleted',
  'issue_property_set',
  'issue_property_deleted',
] as const;

export type JiraWebhookEventName = (typeof JIRA_WEBHOOK_EVENTS)[number];

/** One Jira webhook registered for every connected team. */
export interface JiraWebhookSubscription {
  events: JiraWebhookEventName[] | string[];
  /** Jira requires one; only the webhook JQL subset is accepted (see webhook-jql.ts). */
  jqlFilter: string;
  /** jira:issue_updated only when one of these fields changed. */
  fieldIdsFilter?: string[];
}

/** A subscription as stored: normalized, with the key that names it in every team's registration. */
export interface NormalizedSubscription {
  key: string;
  events: string[];
  jqlFilter: string;
  fieldIdsFilter?: string[];
}

/** What a handler receives. `payload` is Jira's body as delivered. */
export interface JiraWebhookEvent<P = Record<string, unknown>> {
  /** Our inbox id. */
  id: string;
  teamId: string;
  cloudId: string;
  /** Jira's `X-Atlassian-Webhook-Identifier`: the same across Jira's retries. */
  deliveryId: string;
  /** `webhookEvent` of the payload, e.g. jira:issue_updated. */
  webhookEvent: string;
  matchedWebhookIds: number[];
  payload: P;
  receivedAt: Date;
  /** 1 on the first try. */
  attempt: number;
}

/** Normalizes and validates; throws an Error naming `where` for anything Jira would refuse. */
export function normalizeSubscription(sub: JiraWebhookSubscription, where: string): NormalizedSubscription {
  const events = [...new Set(sub.events ?? [])].sort();
  if (events.length === 0) throw new Error(`${where}: at least one event is required`);
  const unknown = events.filter((e) => !(JIRA_WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length > 0) {
    throw new Error(`${where}: ${unknown.join(', ')} cannot be registered as a dynamic webhook (supported: ${JIRA_WEBHOOK_EVENTS.join(', ')})`);
  }
  const jqlFilter = (sub.jqlFilter ?? '').trim();
  try {
    assertWebhookJql(jqlFilter);
  } catch (err) {
    throw new Error(`${where}: invalid webhook JQL "${jqlFilter}": ${(err as Error).message}`);
  }
  const fieldIdsFilter = sub.fieldIdsFilter?.length ? [...new Set(sub.fieldIdsFilter)].sort() : undefined;
  const key = createHash('sha256').update(JSON.stringify([events, jqlFilter, fieldIdsFilter ?? []])).digest('hex').slice(0, 16);
  return { key, events, jqlFilter, ...(fieldIdsFilter ? { fieldIdsFilter } : {}) };
}
