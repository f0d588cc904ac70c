import { describe, expect, it } from 'vitest';
import { consentExpiresAt, consentedBefore, daysLeft, reconsentNoticeDue } from './consent.js';

const DAY = 24 * 60 * 60_000;
const expires = new Date('2027-06-01T00:00:00Z');
const before = (days: number) => new Date(expires.getTime() - days * DAY);

describe('consentExpiresAt', () => {
  it('is 365 days after the consent, and null without one', () => {
    expect(consentExpiresAt(new Date('2026-01-01T10:00:00Z'))?.toISOString()).toBe('2027-01-01T10:00:00.000Z');
    expect(consentExpiresAt(null)).toBeNull();
    expect(consentedBefore(consentExpiresAt(new Date('2026-03-04T00:00:00Z'))!).toISOString()).toBe('2026-03-04T00:00:00.000Z');
  });
});

describe('reconsentNoticeDue', () => {
  const table: [string, number, number | null, number | null][] = [
    // label, days before expiry, already notified, expected
    ['more than 30 days left', 31, null, null],
    ['exactly 30 days left', 30, null, 30],
    ['29 days left, nothing sent', 29, null, 30],
    ['29 days left, 30 sent', 29, 30, null],
    ['7 days left, 30 sent', 7, 30, 7],
    ['6 days left, 30 sent', 6, 30, 7],
    ['6 days left, 7 sent', 6, 7, null],
    ['5 days left, nothing sent (late first run): only the nearest', 5, null, 7],
    ['an hour left, 7 sent', 1 / 24, 7, null],
    ['expired', 0, null, null],
    ['long expired', -3, 30, null],
  ];
  it.each(table)('%s', (_label, left, sent, expected) => {
    expect(reconsentNoticeDue(expires, before(left), [30, 7], sent)).toBe(expected);
  });

  it('follows configured thresholds in any order', () => {
    expect(reconsentNoticeDue(expires, before(13), [7, 14, 60], null)).toBe(14);
    expect(reconsentNoticeDue(expires, before(13), [7, 14, 60], 14)).toBeNull();
    expect(reconsentNoticeDue(expires, before(59), [7, 14, 60], null)).toBe(60);
  });

  it('daysLeft rounds up and never goes below zero', () => {
    expect(daysLeft(expires, before(6.5))).toBe(7);
    expect(daysLeft(expires, before(30))).toBe(30);
    expect(daysLeft(expires, before(-2))).toBe(0);
  });
});
