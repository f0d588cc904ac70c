import { type CanActivate, type ExecutionContext, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError, CommonErrorCode } from '../common/app-error.js';
import type { TeamRole } from './team-role.js';
import { TEAM_ROLES_KEY, type TeamRequest } from './team.decorators.js';
import { JIRA_TEAM_ACCESS, type TeamAccessPolicy } from './team-access.policy.js';
import { OPAQUE_ID_RULE, parseOpaqueId } from '../common/opaque-id.js';

export const TEAM_HEADER = 'x-team-id';

/**
 * Resolves the X-Team-Id team and checks the authenticated user's membership and role through
 * TeamAccessPolicy. Runs after BearerAuthGuard. A team the user is not in answers exactly like a
 * team that does not exist, so ids cannot be probed.
 */
@Injectable()
export class TeamGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(JIRA_TEAM_ACCESS) private readonly policy: TeamAccessPolicy,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<TeamRequest>();
    const raw = req.headers[TEAM_HEADER];
    if (raw === undefined || raw === '') {
      throw new AppError(CommonErrorCode.TeamHeaderMissing, HttpStatus.BAD_REQUEST, 'Team not specified',
        'Send the team id in the X-Team-Id header.');
    }
    const teamId = parseOpaqueId(raw);
    if (teamId === null) {
      throw new AppError(CommonErrorCode.TeamHeaderInvalid, HttpStatus.BAD_REQUEST, 'Invalid team id',
        `X-Team-Id must be a single team id: ${OPAQUE_ID_RULE}.`);
    }
    const userId = req.user?.id;
    if (!userId) {
      throw new AppError(CommonErrorCode.Unauthenticated, HttpStatus.UNAUTHORIZED, 'Authentication required');
    }
    const role = await this.policy.roleOf(teamId, userId, req.user?.claims);
    if (!role) {
      throw new AppError(CommonErrorCode.NotTeamMember, HttpStatus.FORBIDDEN, 'Not a member of this team',
        'Ask a team owner to add you, or pick a team you belong to.');
    }
    const required = this.reflector.getAllAndOverride<TeamRole[] | undefined>(TEAM_ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (required && required.length > 0 && !required.includes(role)) {
      throw new AppError(CommonErrorCode.InsufficientRole, HttpStatus.FORBIDDEN, 'Insufficient role',
        `This action needs the ${required.join(' or ')} role in the team; you are ${role}.`,
        { extensions: { requiredRoles: required, role } });
    }
    req.team = { id: teamId, role };
    return true;
  }
}
