import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { AuthenticatedRequest } from '../auth/current-user.decorator.js';
import type { TeamRole } from './team-role.js';

export const TEAM_ROLES_KEY = 'teams:roles';

/** Restricts a route to these roles in the X-Team-Id team (default: any member). */
export const TeamRoles = (...roles: TeamRole[]): MethodDecorator & ClassDecorator => SetMetadata(TEAM_ROLES_KEY, roles);

export interface TeamContext {
  id: string;
  role: TeamRole;
}

export type TeamRequest = AuthenticatedRequest & { team?: TeamContext };

/** The team named by X-Team-Id, after TeamGuard checked membership. */
export const CurrentTeam = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): TeamContext => ctx.switchToHttp().getRequest<TeamRequest>().team!,
);
