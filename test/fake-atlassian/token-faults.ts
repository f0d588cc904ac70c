import type { FakeAtlassian } from './fake-atlassian.js';

/*
 * Faults of the token endpoint that happen AFTER Atlassian has rotated the refresh token: the
 * client never learns the new tokens, so the outcome is unknown to it (what issue 8 is about).
 */

export type LostAnswer = { drop: true } | { delayMs: number };

/**
 * The next `count` successful refreshes rotate the grant as usual, then their answer is lost:
 * the connection is reset (`drop`) or the answer is held back for `delayMs` (a client with a
 * shorter timeout gives up first). Returns how many answers have been lost so far.
 */
export function loseRefreshAnswers(fake: FakeAtlassian, count: number, how: LostAnswer = { drop: true }): () => number {
  let lost = 0;
  fake.afterRotation = async (req, res, record, issued) => {
    if (lost >= count) return false;
    lost += 1;
    record.status = 200; // rotated: Atlassian did its part
    if ('delayMs' in how) {
      await new Promise((r) => setTimeout(r, how.delayMs));
      if (!req.socket.destroyed) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(issued));
      }
    } else {
      req.socket.destroy();
    }
    if (lost >= count) fake.afterRotation = undefined;
    return true;
  };
  return () => lost;
}
