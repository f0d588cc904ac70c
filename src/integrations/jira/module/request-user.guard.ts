import { type CanActivate, type ExecutionContext, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from '../auth/current-user.decorator.js';
import { IS_PUBLIC } from '../auth/public.decorator.js';
import { AppError, CommonErrorCode } from '../common/app-error.js';
import { JIRA_MODULE_OPTIONS, type JiraIntegrationModuleOptions } from '../jira-integration.options.js';

/**
 * The module's side of the authentication contract: the host authenticates (a global guard or
 * middleware that sets `req.user`, or the `currentUser` option), the module insists that someone
 * did on every route but the OAuth callback, and answers 401 problem JSON otherwise. The id is
 * normalized to a string in `req.user.id`, which the team guard and the routes read.
 */
@Injectable()
export class RequestUserGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(JIRA_MODULE_OPTIONS) private readonly options: JiraIntegrationModuleOptions,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (isJiraPublicRoute(this.reflector, context)) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const raw: unknown = this.options.currentUser ? this.options.currentUser(req) : (req.user as { id?: unknown } | undefined)?.id;
    const id = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
    if (typeof id !== 'string' || id === '') {
      throw new AppError(CommonErrorCode.Unauthenticated, HttpStatus.UNAUTHORIZED, 'Authentication required',
        'Sign in to the application first.');
    }
    // A copy, so the host's own user object keeps its own id type.
    if (req.user?.id !== id) req.user = { ...req.user, id };
    return true;
  }
}

/**
 * Whether the route is one the module serves without a signed-in user (the OAuth callback, which
 * Atlassian redirects the browser to, and the webhook route Jira delivers to, which checks Jira's JWT). A host whose global guard refuses anonymous requests lets
 * these through: `if (isJiraPublicRoute(reflector, context)) return true;`.
 */
export function isJiraPublicRoute(reflector: Reflector, context: ExecutionContext): boolean {
  return reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]) === true;
}
