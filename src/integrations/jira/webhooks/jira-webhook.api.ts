import type { TeamJiraClient } from '../client/jira-client.js';
import type { NormalizedSubscription } from './webhook-subscription.js';

/*
 * Jira's dynamic-webhook REST operations (REST v3 "Webhooks" group), through the team's
 * JiraClient (api.atlassian.com/ex/jira/{cloudId}). `GET /rest/api/3/webhook/failed` is not used:
 * Atlassian documents it for Connect apps only.
 */

const BASE = '/rest/api/3/webhook';

export interface ListedWebhook {
  id: number;
  expiresAt: Date | null;
}

export type RegistrationResult = { id: number } | { errors: string[] };

/** `2019-06-01T12:42:30.000+0000` (REST reference example) or epoch milliseconds. */
export function parseJiraDate(value: unknown): Date | null {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value);
  if (typeof value !== 'string') return null;
  const d = new Date(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Every webhook this app has on the site (paged). */
export async function listWebhooks(client: TeamJiraClient): Promise<ListedWebhook[]> {
  const out: ListedWebhook[] = [];
  for (let startAt = 0; startAt < 10_000; ) {
    const page = await client.get<{ values?: { id: number; expirationDate?: unknown }[]; isLast?: boolean; maxResults?: number }>(
      BASE, { startAt, maxResults: 100 });
    const values = page.values ?? [];
    out.push(...values.map((v) => ({ id: Number(v.id), expiresAt: parseJiraDate(v.expirationDate) })));
    if (page.isLast !== false || values.length === 0) break;
    startAt += values.length;
  }
  return out;
}

/** One result per subscription, in order: Jira answers 200 with per-webhook errors in the body. */
export async function registerWebhooks(client: TeamJiraClient, url: string, subs: NormalizedSubscription[]): Promise<RegistrationResult[]> {
  const body = {
    url,
    webhooks: subs.map((s) => ({ events: s.events, jqlFilter: s.jqlFilter, ...(s.fieldIdsFilter ? { fieldIdsFilter: s.fieldIdsFilter } : {}) })),
  };
  const res = await client.json<{ webhookRegistrationResult?: { createdWebhookId?: number; errors?: string[] }[] }>('POST', BASE, { body });
  return subs.map((_, i) => {
    const r = res.webhookRegistrationResult?.[i];
    if (r && typeof r.createdWebhookId === 'number') return { id: r.createdWebhookId };
    return { errors: r?.errors?.length ? r.errors.map(String) : ['no result for this webhook'] };
  });
}

/** Extends the life of the webhooks (Jira: 30 days from now); returns the new expiry. */
export async function refreshWebhooks(client: TeamJiraClient, ids: number[]): Promise<Date | null> {
  const res = await client.json<{ expirationDate?: unknown }>('PUT', `${BASE}/refresh`, { body: { webhookIds: ids } });
  return parseJiraDate(res.expirationDate);
}

export async function deleteWebhooks(client: TeamJiraClient, ids: number[]): Promise<void> {
  await client.json('DELETE', BASE, { body: { webhookIds: ids } });
}
