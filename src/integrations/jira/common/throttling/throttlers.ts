import type { ExecutionContext } from '@nestjs/common';
import type { ThrottlerOptions } from '@nestjs/throttler';
import type { AuthenticatedRequest } from '../../auth/current-user.decorator.js';
import type { RateLimitSettings } from '../../config/rate-limit.config.js';
import { PER_IP, PER_USER, PROXY_PER_USER, PROXY_THROTTLED, VERIFY_PER_USER } from './rate-limit.guard.js';

const clientIp = (req: AuthenticatedRequest): string => req.ip ?? req.socket?.remoteAddress ?? 'unknown';
const userTracker = (req: unknown): string => {
  const r = req as AuthenticatedRequest;
  return r.user ? `user:${r.user.id}` : `ip:${clientIp(r)}`;
};
const isProxyRoute = (context: ExecutionContext): boolean =>
  Reflect.getMetadata(PROXY_THROTTLED, context.getHandler()) === true || Reflect.getMetadata(PROXY_THROTTLED, context.getClass()) === true;
const asksToVerify = (context: ExecutionContext): boolean =>
  String(context.switchToHttp().getRequest<AuthenticatedRequest>().query?.verify).toLowerCase() === 'true';

/**
 * Named throttlers over one window: `per-user` (tracker: the signed-in user), `per-ip`, and
 * `verify-per-user` (only requests with ?verify=true), `proxy-per-user` (only the Jira proxy's
 * routes, @RateLimitProxyPerUser()). Routes pick one with @RateLimitPerUser(),
 * @RateLimitPerIp() or @RateLimitVerifyPerUser(), under @UseGuards(RateLimitGuard). The Jira
 * module provides them, with their storage (Redis when configured, else process memory), from
 * its options (src/integrations/jira/module/option-providers.ts).
 */
export function throttlersFor(limits: RateLimitSettings): ThrottlerOptions[] {
  return [
    {
      name: PER_USER,
      ttl: limits.windowMs,
      limit: limits.perUser,
      getTracker: userTracker,
    },
    {
      name: PER_IP,
      ttl: limits.windowMs,
      limit: limits.callbackPerIp,
      getTracker: (req: unknown) => `ip:${clientIp(req as AuthenticatedRequest)}`,
    },
    {
      name: VERIFY_PER_USER,
      ttl: limits.windowMs,
      limit: limits.perUser,
      getTracker: userTracker,
      skipIf: (context: ExecutionContext) => !asksToVerify(context),
    },
    {
      name: PROXY_PER_USER,
      ttl: limits.windowMs,
      limit: limits.proxyPerUser,
      getTracker: userTracker,
      skipIf: (context: ExecutionContext) => !isProxyRoute(context),
    },
  ];
}
