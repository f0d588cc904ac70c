import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AppError } from '../common/app-error.js';
import { Clock } from '../common/clock.js';
import { teamAccessConfig } from '../config/team-access.config.js';
import type { TeamRole } from './entities/team-member.entity.js';
import { mapRole, TeamAccessPolicy } from './team-access.policy.js';

export const TEAM_ACCESS_UNAVAILABLE = 'team_access_unavailable';
/** Answers kept at most; the oldest goes first (a Map iterates in insertion order). */
const CACHE_MAX_ENTRIES = 10_000;

/** Thrown when the product cannot say: never treated as access granted. */
function unavailable(reason: string): AppError {
  return new AppError(TEAM_ACCESS_UNAVAILABLE, HttpStatus.SERVICE_UNAVAILABLE, 'Team membership cannot be checked',
    'The product\'s membership service did not answer. Try again shortly.', { retryAfter: 5, extensions: { reason } });
}

/**
 * TEAM_ACCESS_POLICY=http: asks the product. `GET TEAM_ACCESS_URL` with `{teamId}` and `{userId}`
 * URL-encoded; 200 `{ "role": "<role>" }` is the role (through AUTH_ROLE_MAP; a null or unknown role
 * is no access), 404 or 403 is "not a member". Anything else (5xx, 401, 429, a timeout, no
 * connection, a body that is not that JSON) is 503 `team_access_unavailable`. Answers, members and
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

  private async ask(teamId: string, userId: string): Promise<TeamRole | null> {
    const url = this.settings.url!.replaceAll('{teamId}', encodeURIComponent(teamId)).replaceAll('{userId}', encodeURIComponent(userId));
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
      body = await res.json();
    } catch (err) {
      if (err instanceof AppError) throw this.logged(err, teamId);
      const reason = (err as Error)?.name === 'TimeoutError' ? 'timeout' : (err as Error)?.name === 'SyntaxError' ? 'invalid JSON' : 'unreachable';
      throw this.logged(unavailable(reason), teamId);
    }
    if (typeof body !== 'object' || body === null || !('role' in body)) throw this.logged(unavailable('no role in the answer'), teamId);
    return mapRole((body as { role: unknown }).role, this.settings.roleMap);
  }

  private logged(err: AppError, teamId: string): AppError {
    this.logger.warn({ teamId, reason: err.extensions.reason }, 'team access check failed');
    return err;
  }
}
