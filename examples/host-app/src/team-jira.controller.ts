import { Controller, ForbiddenException, Get, Param, ParseIntPipe, Req } from '@nestjs/common';
import { JiraClient } from 'jira-connect';
import type { HostRequest } from './api-key.guard.js';
import { HostTeamAccessPolicy } from './host-team-access.policy.js';
import { JiraActivity } from './jira-activity.service.js';

/** The host's own code using the module's exports: Jira calls on behalf of a team. */
@Controller('teams/:teamId/jira')
export class TeamJiraController {
  constructor(
    private readonly jira: JiraClient,
    private readonly policy: HostTeamAccessPolicy,
    private readonly activity: JiraActivity,
  ) {}

  private async member(teamId: number, req: HostRequest): Promise<void> {
    if (!(await this.policy.roleOf(String(teamId), String(req.user!.id)))) throw new ForbiddenException('Not in this team.');
  }

  @Get('myself')
  async myself(@Param('teamId', ParseIntPipe) teamId: number, @Req() req: HostRequest) {
    await this.member(teamId, req);
    const me = await this.jira.forTeam(String(teamId)).myself();
    return { accountId: me.accountId };
  }

  /** What Jira's webhooks told the host about this team's issues (JiraActivity). */
  @Get('activity')
  async recentActivity(@Param('teamId', ParseIntPipe) teamId: number, @Req() req: HostRequest) {
    await this.member(teamId, req);
    return { activity: this.activity.ofTeam(String(teamId)) };
  }
}

@Controller('me')
export class MeController {
  @Get()
  me(@Req() req: HostRequest) {
    return req.user;
  }
}
