import { describe, expect, it } from 'vitest';
import { VerifiedTokenCache } from './verified-token-cache.js';

const T0 = 1_800_000_000_000;
const payload = (expSeconds?: number) => ({ sub: 'u1', ...(expSeconds === undefined ? {} : { exp: expSeconds }) });

describe('VerifiedTokenCache', () => {
  it.each([
    // [case, exp (s after T0, or none), ms after set that the token is read, expected hit]
    ['just after verification', 3600, 1, true],
    ['just before the TTL', 3600, 59_999, true],
    ['at the TTL', 3600, 60_000, false],
    ['long after the TTL', 3600, 3_600_000, false],
    ['before exp, exp sooner than the TTL', 10, 9_999, true],
    ['at exp, exp sooner than the TTL', 10, 10_000, false],
    ['a token without exp is never remembered', undefined, 1, false],
    ['a token already past exp is never remembered', -1, 0, false],
  ] as const)('%s', (_case, expAfter, readAfterMs, hit) => {
    const cache = new VerifiedTokenCache(60_000, 10);
    const exp = expAfter === undefined ? undefined : T0 / 1000 + expAfter;
    cache.set('token-a', payload(exp), T0);
    expect(cache.get('token-a', T0 + readAfterMs) !== undefined).toBe(hit);
  });

  it('answers only for the exact token it verified', () => {
    const cache = new VerifiedTokenCache(60_000, 10);
    cache.set('token-a', payload(T0 / 1000 + 3600), T0);
    expect(cache.get('token-a', T0 + 1)).toEqual({ sub: 'u1', exp: T0 / 1000 + 3600 });
    expect(cache.get('token-a ', T0 + 1)).toBeUndefined();
    expect(cache.get('token-b', T0 + 1)).toBeUndefined();
  });

  it('holds at most its maximum, dropping the oldest verification first', () => {
    const cache = new VerifiedTokenCache(60_000, 3);
    for (const t of ['a', 'b', 'c', 'd']) cache.set(t, payload(T0 / 1000 + 3600), T0);
    expect(cache.size).toBe(3);
    expect(cache.get('a', T0 + 1)).toBeUndefined();
    expect(['b', 'c', 'd'].every((t) => cache.get(t, T0 + 1) !== undefined)).toBe(true);
    // Verifying 'b' again makes it the newest: 'c' goes next.
    cache.set('b', payload(T0 / 1000 + 3600), T0 + 2);
    cache.set('e', payload(T0 / 1000 + 3600), T0 + 3);
    expect(cache.get('c', T0 + 4)).toBeUndefined();
    expect(cache.get('b', T0 + 4)).toBeDefined();
  });

  it('forgets an entry once it is past its time', () => {
    const cache = new VerifiedTokenCache(1000, 10);
    cache.set('a', payload(T0 / 1000 + 3600), T0);
    expect(cache.get('a', T0 + 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
