import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/**
 * What authentication puts on `req.user`: the product's user id and, with a bearer JWT, its
 * verified claims (the `claims` team access policy reads them). A host app's own guard sets the same.
 */
export interface AuthenticatedUser {
  id: string;
  claims?: Readonly<Record<string, unknown>>;
}

export type AuthenticatedRequest = Request & { user?: AuthenticatedUser };

/** The user the bearer token names (set by BearerAuthGuard). */
export const CurrentUser = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): AuthenticatedUser => ctx.switchToHttp().getRequest<AuthenticatedRequest>().user!,
);
