import type { Response, Test } from 'supertest';

export interface TimedResponse {
  /** null when the request did not complete within its own timeout (a hang). */
  res: Response | null;
  ms: number;
}

/** Sends `req` with a hard client timeout, so a hanging route fails the test instead of stalling it. */
export async function timed(req: Test, timeoutMs: number): Promise<TimedResponse> {
  const started = performance.now();
  try {
    const res = await req.timeout(timeoutMs);
    return { res, ms: performance.now() - started };
  } catch {
    return { res: null, ms: performance.now() - started };
  }
}
