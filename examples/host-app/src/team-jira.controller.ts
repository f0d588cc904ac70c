import { Controller, ForbiddenException, Get, Param, ParseIntPipe, Req } from '@nestjs/common';
import { JiraClient } from 'jira-connect';
import type { HostRequest } from './api-key.guard.js';
import { HostTeamAccessPolicy } from './host-team-access.policy.js';

/** The host's own code using the module's exports: Jira calls on behalf of a team. */
@Controller('teams/:teamId/jira')
export class TeamJiraController {
  constructor(
    private readonly jira: JiraClient,
    private readonly policy: HostTeamAccessPolicy,
  ) {}

  @Get('myself')
  async myself(@Param('teamId', ParseIntPipe) teamId: number, @Req() req: HostRequest) {
    if (!(await this.policy.roleOf(String(teamId), String(req.user!.id)))) throw new ForbiddenException('Not in this team.');
    const me = await this.jira.forTeam(String(teamId)).myself();
    return { accountId: me.accountId };
  }
}

@Controller('me')
export class MeController {
  @Get()
  me(@Req() req: HostRequest) {
    return req.user;
  }
}
