import { describe, expect, it } from 'vitest';
import { UnauthorizedRefreshMemo } from './unauthorized-refresh-memo.js';

describe('UnauthorizedRefreshMemo', () => {
  it('recognises the token a 401-triggered refresh handed out, for that team, within the window only', () => {
    let now = 1_000;
    const memo = new UnauthorizedRefreshMemo(600_000, () => now);
    expect(memo.reissuedRecently('t1', 'at-1')).toBe(false);
    memo.note('t1', 'at-1');
    expect(memo.reissuedRecently('t1', 'at-1')).toBe(true);
    expect(memo.reissuedRecently('t1', 'at-other')).toBe(false);
    expect(memo.reissuedRecently('t2', 'at-1')).toBe(false);
    now += 599_999;
    expect(memo.reissuedRecently('t1', 'at-1')).toBe(true);
    now += 1;
    expect(memo.reissuedRecently('t1', 'at-1')).toBe(false);
  });

  it('a window of 0 never recognises anything (every 401 may refresh)', () => {
    const memo = new UnauthorizedRefreshMemo(0, () => 5);
    memo.note('t1', 'at-1');
    expect(memo.reissuedRecently('t1', 'at-1')).toBe(false);
  });
});
