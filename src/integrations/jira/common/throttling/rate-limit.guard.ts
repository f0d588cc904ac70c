import { applyDecorators, type ExecutionContext, HttpStatus, Injectable, SetMetadata } from '@nestjs/common';
import { SkipThrottle, ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { AppError, CommonErrorCode } from '../app-error.js';

/** Throttler names (see throttlers.ts). */
export const PER_USER = 'per-user';
export const PER_IP = 'per-ip';
/** Per user, counting only requests with `?verify=true` (each one calls Jira). */
export const VERIFY_PER_USER = 'verify-per-user';

/** Limit this route per authenticated user (falls back to the client IP). */
export const RateLimitPerUser = (): MethodDecorator & ClassDecorator => SkipThrottle({ [PER_IP]: true, [VERIFY_PER_USER]: true });
/** Limit this route per client IP (public routes such as the OAuth callback). */
export const RateLimitPerIp = (): MethodDecorator & ClassDecorator => SkipThrottle({ [PER_USER]: true, [VERIFY_PER_USER]: true });
/**
 * Free unless the request asks for `?verify=true`, which calls Jira with the team's token and so
 * spends the connecting user's Atlassian rate budget: those are limited per user.
 */
export const RateLimitVerifyPerUser = (): MethodDecorator & ClassDecorator => SkipThrottle({ [PER_USER]: true, [PER_IP]: true });

/** Per user, counting only the Jira proxy's requests (their own, larger budget). */
export const PROXY_PER_USER = 'proxy-per-user';
/** Marks the routes the `proxy-per-user` throttler counts. */
export const PROXY_THROTTLED = 'throttling:proxy';

/** Limit this route per user with the proxy's budget (JIRA_PROXY_RATE_LIMIT_PER_USER) and no other. */
export const RateLimitProxyPerUser = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SkipThrottle({ [PER_USER]: true, [PER_IP]: true, [VERIFY_PER_USER]: true }), SetMetadata(PROXY_THROTTLED, true));

/**
 * ThrottlerGuard answering with our problem JSON and a plain `Retry-After` header (the stock guard
 * suffixes named throttlers: `Retry-After-per-user`). Use it as a controller guard so it runs
 * after the global BearerAuthGuard and sees `req.user`.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new AppError(CommonErrorCode.RateLimited, HttpStatus.TOO_MANY_REQUESTS, 'Too many requests',
      'Slow down: retry after the number of seconds in the Retry-After header.',
      { retryAfter: Math.max(1, detail.timeToBlockExpire) });
  }
}
