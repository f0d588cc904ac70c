import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AppError } from '../integrations/jira/common/app-error.js';
import { Clock } from '../integrations/jira/common/clock.js';
import { changesUrlPath, OPAQUE_ID_RULE } from '../integrations/jira/common/opaque-id.js';
import { teamAccessConfig } from '../config/team-access.config.js';
import type { TeamRole } from '../integrations/jira/teams/team-role.js';
import { mapRole, TEAM_ACCESS_UNAVAILABLE, TeamAccessPolicy } from '../integrations/jira/teams/team-access.policy.js';

/** Answers kept at most; the oldest goes first (a Map iterates in insertion order). */
const CACHE_MAX_ENTRIES = 10_000;

/** Thrown when the product cannot say: never treated as access granted. */
function unavailable(reason: string): AppError {
  return new AppError(TEAM_ACCESS_UNAVAILABLE, HttpStatus.SERVICE_UNAVAILABLE, 'Team membership cannot be checked',
    'The product\'s membership service did not answer. Try again shortly.', { retryAfter: 5, extensions: { reason } });
}

/** An id that would steer the request to another path: never asked, whoever calls the policy. */
function invalidId(): AppError {
  return new AppError('invalid_id', HttpStatus.BAD_REQUEST, 'Invalid id', `Team and user ids must be ${OPAQUE_ID_RULE}.`);
}

/** Reads at most `maxBytes` of the answer; more is a failure, and the rest is not read. */
async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  const tooLarge = () => unavailable(`answer larger than ${maxBytes} bytes (TEAM_ACCESS_MAX_ANSWER_KB)`);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  for (;;) {
    const { done, value } = reader ? await reader.read() : { done: true, value: undefined };
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader!.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * TEAM_ACCESS_POLICY=http: asks the product. `GET TEAM_ACCESS_URL` with `{teamId}` and `{userId}`
 * URL-encoded (an id of only dots, which URL parsing would remove as a path segment, is refused
 * with 400 `invalid_id` before anything is asked); 200 `{ "role": "<role>" }` is the role (through AUTH_ROLE_MAP; a null or unknown role
 * is no access), 404 or 403 is "not a member". Anything else (5xx, 401, 429, a timeout, no
 * connection, a body that is not that JSON or larger than TEAM_ACCESS_MAX_ANSWER_KB) is 503 `team_access_unavailable`. Answers, members and
 * non-members alike, are cached for TEAM_ACCESS_CACHE_SECONDS; failures never are.
 */
@Injectable()
export class HttpTeamAccessPolicy extends TeamAccessPolicy {
  private readonly logger = new Logger(HttpTeamAccessPolicy.name);
  private readonly cache = new Map<string, { role: TeamRole | null; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<TeamRole | null>>();

  constructor(
    @Inject(teamAccessConfig.KEY) private readonly settings: ConfigType<typeof teamAccessConfig>,
    private readonly clock: Clock,
  ) {
    super();
  }

  async roleOf(teamId: string, userId: string): Promise<TeamRole | null> {
    const key = JSON.stringify([teamId, userId]);
    const cached = this.cache.get(key);
    const now = this.clock.nowMs();
    if (cached && cached.expiresAt > now) return cached.role;
    this.cache.delete(key);
    // Parallel requests of one user (an SPA loading a page) share one question to the product.
    const running = this.inFlight.get(key);
    if (running) return running;
    const asking = this.ask(teamId, userId).then((role) => {
      if (this.settings.cacheMs > 0) {
        if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(key, { role, expiresAt: this.clock.nowMs() + this.settings.cacheMs });
      }
      return role;
    }).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, asking);
    return asking;
  }

  /** The product's URL for these ids; throws rather than build one whose path the ids changed. */
  private urlFor(teamId: string, userId: string): string {
    if (changesUrlPath(teamId) || changesUrlPath(userId)) throw invalidId();
    const fill = (a: string, b: string) => this.settings.url!.replaceAll('{teamId}', a).replaceAll('{userId}', b);
    const url = fill(encodeURIComponent(teamId), encodeURIComponent(userId));
    // Belt and braces: the path has as many segments as the template's.
    const segments = (u: string) => new URL(u).pathname.split('/').length;
    if (segments(url) !== segments(fill('x', 'x'))) throw invalidId();
    return url;
  }

  private async ask(teamId: string, userId: string): Promise<TeamRole | null> {
    const url = this.urlFor(teamId, userId);
    let res: Response;
    let body: unknown;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/json', ...(this.settings.token ? { authorization: `Bearer ${this.settings.token}` } : {}) },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      if (res.status === 404 || res.status === 403) {
        await res.body?.cancel();
        return null;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw unavailable(`HTTP ${res.status}`);
      }
      body = JSON.parse(await readCapped(res, this.settings.maxAnswerBytes));
    } catch (err) {
      if (err instanceof AppError) throw this.logged(err, teamId);
      const reason = (err as Error)?.name === 'TimeoutError' ? 'timeout' : (err as Error)?.name === 'SyntaxError' ? 'invalid JSON' : 'unreachable';
      throw this.logged(unavailable(reason), teamId);
    }
    if (typeof body !== 'object' || body === null || !('role' in body)) throw this.logged(unavailable('no role in the answer'), teamId);
    return mapRole((body as { role: unknown }).role, this.settings.roleMap);
  }

  private logged(err: AppError, teamId: string): AppError {
    this.logger.warn({ teamId, reason: err.extensions.reason, msg: 'team access check failed' });
    return err;
  }
}
