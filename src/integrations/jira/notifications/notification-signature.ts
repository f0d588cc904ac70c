import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of every notification request (Stripe/Svix style: sign `timestamp.body`). */
export const NOTIFICATION_HEADERS = {
  id: 'x-jira-connect-event-id',
  timestamp: 'x-jira-connect-timestamp',
  signature: 'x-jira-connect-signature',
} as const;

const hmac = (secret: string, timestamp: number, rawBody: string): string =>
  createHmac('sha256', secret).update(`${timestamp}.${rawBody}`, 'utf8').digest('hex');

/** `v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. */
export function signNotification(secret: string, timestamp: number, rawBody: string): string {
  return `v1=${hmac(secret, timestamp, rawBody)}`;
}

/**
 * What a receiver runs (and docs/notifications.md shows, in Node and Python): true when one `v1=` signature in the header
 * matches and the timestamp is within `toleranceSeconds` of now (replay window).
 */
export function verifyNotification(secret: string, rawBody: string, timestampHeader: string | undefined,
  signatureHeader: string | undefined, nowSeconds = Math.floor(Date.now() / 1000), toleranceSeconds = 300): boolean {
  const timestamp = Number(timestampHeader);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds || !signatureHeader) return false;
  const expected = Buffer.from(hmac(secret, timestamp, rawBody), 'hex');
  return signatureHeader.split(/[\s,]+/).some((part) => {
    const [version, value] = part.split('=', 2);
    if (version !== 'v1' || !value || !/^[0-9a-f]{64}$/.test(value)) return false;
    return timingSafeEqual(Buffer.from(value, 'hex'), expected);
  });
}
