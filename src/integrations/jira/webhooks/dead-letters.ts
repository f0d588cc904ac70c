import type { DataSource } from 'typeorm';

/** An event whose handlers kept failing (JIRA_WEBHOOK_MAX_ATTEMPTS): kept for operators. */
export interface DeadLetter {
  id: string;
  teamId: string;
  deliveryId: string;
  webhookEvent: string;
  attempts: number;
  lastError: string | null;
  receivedAt: Date;
}

/** Newest first. Shared by the dispatcher (and an admin API) and `npm run cli -- webhooks:dead-letters`. */
export async function listDeadLetters(ds: DataSource, limit = 100): Promise<DeadLetter[]> {
  const rows = (await ds.query(
    `SELECT id, team_id, delivery_id, webhook_event, attempts, last_error, received_at FROM jira_webhook_events
      WHERE status = 'dead' ORDER BY received_at DESC LIMIT $1`, [limit])) as
    { id: string; team_id: string; delivery_id: string; webhook_event: string; attempts: number; last_error: string | null; received_at: Date }[];
  return rows.map((r) => ({ id: r.id, teamId: r.team_id, deliveryId: r.delivery_id, webhookEvent: r.webhook_event,
    attempts: r.attempts, lastError: r.last_error, receivedAt: new Date(r.received_at) }));
}

/** Puts a dead letter back in the queue with a fresh set of attempts. False when there is none with that id. */
export async function requeueDeadLetter(ds: DataSource, id: string, now: Date): Promise<boolean> {
  const [, count] = (await ds.query(
    `UPDATE jira_webhook_events SET status = 'pending', attempts = 0, next_attempt_at = $2 WHERE id::text = $1 AND status = 'dead'`,
    [id, now])) as [unknown, number];
  return count > 0;
}
