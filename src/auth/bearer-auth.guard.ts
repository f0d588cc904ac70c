import { type CanActivate, type ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError, CommonErrorCode } from '../integrations/jira/common/app-error.js';
import type { AuthenticatedRequest } from '../integrations/jira/auth/current-user.decorator.js';
import { JwtVerifier } from './jwt-verifier.service.js';
import { IS_PUBLIC } from '../integrations/jira/auth/public.decorator.js';

/** Global guard: every route needs `Authorization: Bearer <JWT>` unless marked @Public(). */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: JwtVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header) : null;
    if (!match) {
      throw new AppError(CommonErrorCode.Unauthenticated, HttpStatus.UNAUTHORIZED, 'Authentication required',
        'Send the session token as "Authorization: Bearer <token>".');
    }
    const result = await this.verifier.check(match[1]);
    if (!result.ok && result.reason === 'lifetime') {
      throw new AppError(CommonErrorCode.TokenLifetimeInvalid, HttpStatus.UNAUTHORIZED, 'Token lifetime not accepted', result.detail);
    }
    if (!result.ok) {
      throw new AppError(CommonErrorCode.InvalidToken, HttpStatus.UNAUTHORIZED, 'Invalid or expired token',
        'Sign in again to get a fresh token.');
    }
    req.user = { id: result.identity.userId, claims: result.identity.claims };
    return true;
  }
}
