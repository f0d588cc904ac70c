import type { DataSource } from 'typeorm';
import { JiraWebhookDelivery } from '../entities/jira-webhook-delivery.entity.js';

/** An event whose handlers kept failing (JIRA_WEBHOOK_MAX_ATTEMPTS): kept for operators. */
export type DeadLetter = Pick<JiraWebhookDelivery, 'id' | 'teamId' | 'deliveryId' | 'webhookEvent' | 'attempts' | 'lastError' | 'receivedAt'>;

/** Newest first. Shared by the dispatcher (and an admin API) and `npm run cli -- webhooks:dead-letters`. */
export function listDeadLetters(ds: DataSource, limit = 100): Promise<DeadLetter[]> {
  return ds.getRepository(JiraWebhookDelivery).find({
    select: { id: true, teamId: true, deliveryId: true, webhookEvent: true, attempts: true, lastError: true, receivedAt: true },
    where: { status: 'dead' }, order: { receivedAt: 'DESC' }, take: limit,
  });
}

/** Puts a dead letter back in the queue with a fresh set of attempts. False when there is none with that id. */
export async function requeueDeadLetter(ds: DataSource, id: string, now: Date): Promise<boolean> {
  // Compared as text: an id that is not a UUID is no dead letter, not an error.
  const { affected } = await ds.getRepository(JiraWebhookDelivery).createQueryBuilder().update()
    .set({ status: 'pending', attempts: 0, nextAttemptAt: now }).where('id::text = :id AND status = :dead', { id, dead: 'dead' }).execute();
  return (affected ?? 0) > 0;
}
