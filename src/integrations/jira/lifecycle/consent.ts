/**
 * Atlassian's rotating refresh tokens end 365 days after the user's consent, whatever the
 * refreshes in between (shared/design/atlassian-oauth-facts.md); only a new consent starts a new
 * year. These pure functions are the whole rule; the status, the admin listing and the
 * reconsent notice job call them.
 */

export const CONSENT_LIFETIME_DAYS = 365;
const DAY_MS = 24 * 60 * 60_000;

/** When the grant dies unless the user consents again; null when the consent time is unknown. */
export function consentExpiresAt(consentedAt: Date | null): Date | null {
  return consentedAt === null ? null : new Date(consentedAt.getTime() + CONSENT_LIFETIME_DAYS * DAY_MS);
}

/** The consent time of a grant that expires at `expiresAt` (for filters on the stored column). */
export function consentedBefore(expiresAt: Date): Date {
  return new Date(expiresAt.getTime() - CONSENT_LIFETIME_DAYS * DAY_MS);
}

/**
 * Which `reconsent_due` notice (days before expiry, one of `noticeDays`) is due now, or null.
 * `alreadyNotified` is the smallest threshold sent for this consent (null: none yet). Each
 * threshold goes out once; when several were crossed while nothing ran (a late first run), only
 * the nearest one goes out, since the earlier ones would say too much time is left. Nothing goes
 * out once the consent has expired: the refresh then fails and `reauthorization_required` says so.
 */
export function reconsentNoticeDue(expiresAt: Date, now: Date, noticeDays: readonly number[], alreadyNotified: number | null): number | null {
  const msLeft = expiresAt.getTime() - now.getTime();
  if (msLeft <= 0) return null;
  const crossed = noticeDays.filter((d) => msLeft <= d * DAY_MS && (alreadyNotified === null || d < alreadyNotified));
  return crossed.length === 0 ? null : Math.min(...crossed);
}

/** Whole days left before `expiresAt` (rounded up: "expires within 7 days" says 7 at 6.5). */
export function daysLeft(expiresAt: Date, now: Date): number {
  return Math.max(0, Math.ceil((expiresAt.getTime() - now.getTime()) / DAY_MS));
}
