import type { FakeAtlassian } from '../../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';

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

/**
 * One refresh request's fate in a scripted sequence (scriptRefreshes):
 * - `refuse`: answered as given BEFORE rotating (nothing happened at Atlassian);
 * - `rotate` then: `drop` the connection; `answer` a status with a raw body (e.g. a 504 HTML page);
 *   `cut-off`: 200 whose JSON body stops halfway; `trickle`: 200 sent one byte every `byteEveryMs`.
 */
export type RefreshStep =
  | { refuse: { status: number; body?: unknown; retryAfter?: string } }
  | { rotate: 'drop' }
  | { rotate: 'answer'; status: number; body: string; contentType: string }
  | { rotate: 'cut-off' }
  | { rotate: 'trickle'; byteEveryMs: number };

/**
 * The next refresh requests meet `steps` in order (then the fake behaves normally). Returns how
 * many steps have been used so far.
 */
export function scriptRefreshes(fake: FakeAtlassian, steps: RefreshStep[]): () => number {
  const queue = [...steps];
  let used = 0;
  // A refusal happens before rotation: queue it as a plain token fault, in order.
  const armRefusals = () => {
    while (queue[0] && 'refuse' in queue[0]) {
      const { refuse } = queue.shift() as { refuse: { status: number; body?: unknown; retryAfter?: string } };
      fake.failNextTokenRequests({ ...refuse, grant: 'refresh_token' });
      used += 1;
    }
  };
  armRefusals();
  fake.afterRotation = async (req, res, record, issued) => {
    const step = queue[0];
    if (!step || 'refuse' in step) return false;
    queue.shift();
    used += 1;
    record.status = 200; // rotated: Atlassian did its part
    const body = JSON.stringify(issued);
    if (step.rotate === 'drop') req.socket.destroy();
    else if (step.rotate === 'answer') {
      res.writeHead(step.status, { 'content-type': step.contentType });
      res.end(step.body);
    } else if (step.rotate === 'cut-off') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body.slice(0, Math.floor(body.length / 2)));
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      for (let i = 0; i < body.length && !req.socket.destroyed; i++) {
        res.write(body[i]);
        await new Promise((r) => setTimeout(r, step.byteEveryMs));
      }
      if (!req.socket.destroyed) res.end();
    }
    armRefusals();
    if (queue.length === 0) fake.afterRotation = undefined;
    return true;
  };
  return () => used;
}
