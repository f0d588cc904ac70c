import { getStorageToken } from '@nestjs/throttler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisThrottlerStorage } from '../src/integrations/jira/common/throttling/redis-throttler.storage.js';
import { RATE_LIMIT_STATE_STORE, type RedisRateLimitStateStore } from '../src/integrations/jira/client/rate-limit-state.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { waitUntil } from './helpers/free-port.js';
import { connect } from './helpers/oauth-flow.js';
import { PrivateRedis, redisServerBinary } from './helpers/private-redis.js';
import { createTestApp, type TestApp, type TestMember } from './helpers/test-app.js';
import { timed, type TimedResponse } from './helpers/timed-request.js';

const AUTHORIZE = '/api/integrations/jira/oauth/authorize';
const VERIFY = '/api/integrations/jira/oauth/status?verify=true';
/** Both Redis clients' command timeout: a request that waited for Redis took at least this. */
const TIMEOUT_MS = 2000;

const skipReason = redisServerBinary() ? null : 'redis-server not found on PATH';

/*
 * Issue 16: during a Redis stall or outage, only the first command waits for its timeout; then
 * governed Jira calls (the governor's shared state) and rate-limited routes (the throttler's
 * counters) answer from memory at once, until a background PING finds Redis again. A private
 * redis-server, frozen (SIGSTOP) and killed; never the machine's shared one.
 */
describe.skipIf(skipReason !== null)(`answers from memory while Redis is down${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let redis: PrivateRedis;
  let fake: FakeAtlassian;
  let t: TestApp;
  let owner: TestMember;
  let state: RedisRateLimitStateStore;
  let counters: RedisThrottlerStorage;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    fake = await new FakeAtlassian().start();
    t = await createTestApp({
      env: { ...fake.env(), REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS),
        JIRA_RATE_STATE_REDIS_TIMEOUT_MS: String(TIMEOUT_MS), JIRA_RATE_LIMIT_PER_USER: '1000' },
    });
    state = t.app.get(RATE_LIMIT_STATE_STORE, { strict: false });
    counters = t.app.get(getStorageToken(), { strict: false });
    owner = await t.member('owner');
    expect((await connect(t, fake, owner)).res.body.data.status).toBe('connected');
  }, 60_000);
  afterAll(async () => {
    redis?.thaw();
    await t?.close();
    await redis?.cleanup();
    await fake?.stop();
  });

  const verify = () => timed(t.http.get(VERIFY).set(owner.headers), 15_000);
  const authorize = () => timed(t.http.post(AUTHORIZE).set(owner.headers).send({}), 15_000);
  const ms = (answers: TimedResponse[]) => answers.map((a) => Math.round(a.ms));

  /** Runs the outage: first requests, then sequential and parallel ones, all checked and measured. */
  const duringOutage = async (name: string) => {
    const firstVerify = await verify();
    const firstAuthorize = await authorize();
    expect(firstVerify.res?.status, 'answered, not hung').toBe(200);
    expect(firstAuthorize.res?.status).toBe(200);
    const skippedBefore = { state: state.availability?.skipped ?? 0, counters: counters.availability?.skipped ?? 0 };
    const sequential: TimedResponse[] = [];
    for (let i = 0; i < 5; i++) sequential.push(await verify(), await authorize());
    const parallel = await Promise.all([...Array(5)].flatMap(() => [verify(), authorize()]));
    console.log(`REDIS ${name}: first verify ${Math.round(firstVerify.ms)} ms, first authorize ${Math.round(firstAuthorize.ms)} ms; `
      + `then sequential ${JSON.stringify(ms(sequential))} ms, 10 in parallel max ${Math.max(...ms(parallel))} ms `
      + `(command timeout ${TIMEOUT_MS} ms)`);
    for (const a of [...sequential, ...parallel]) {
      expect(a.res?.status).toBe(200);
      // Not one waited for Redis: one that did would take at least a command timeout.
      expect(a.ms).toBeLessThan(TIMEOUT_MS);
    }
    // The first commands timed out or failed: both clients know Redis is down, and it was not
    // asked again: every one of those requests was answered from memory.
    expect(state.availability.isDown).toBe(true);
    expect(counters.availability.isDown).toBe(true);
    expect(state.availability.skipped - skippedBefore.state).toBeGreaterThanOrEqual(10);
    expect(counters.availability.skipped - skippedBefore.counters).toBeGreaterThanOrEqual(10);
  };

  /** No request is sent meanwhile: the background probe alone notices that Redis answers again. */
  const recovers = async () => {
    await waitUntil(async () => !state.availability.isDown && !counters.availability.isDown, 15_000, 'the probe finding Redis again');
    const skipped = state.availability.skipped;
    expect((await verify()).res?.status).toBe(200);
    expect(state.availability.skipped).toBe(skipped);
  };

  it('healthy: governed calls and rate limits use Redis', async () => {
    expect((await verify()).res?.status).toBe(200);
    expect(state.availability?.isDown).toBe(false);
    expect(state.availability?.skipped).toBe(0);
  });

  it('frozen (SIGSTOP): after the first timeout, requests answer from memory at once; the probe notices SIGCONT', async () => {
    redis.freeze();
    try {
      await duringOutage('frozen');
    } finally {
      redis.thaw();
    }
    await recovers();
  }, 60_000);

  it('killed: the same, and the probe notices the restart', async () => {
    await redis.kill();
    try {
      await duringOutage('killed');
    } finally {
      await redis.resume();
    }
    await recovers();
  }, 60_000);
});
