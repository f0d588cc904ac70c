import { Global, Module } from '@nestjs/common';
import { TeamAccessPolicy, TableTeamAccessPolicy } from './team-access.policy.js';
import { TeamGuard } from './team.guard.js';
import { TeamsService } from './teams.service.js';

@Global()
@Module({
  providers: [{ provide: TeamAccessPolicy, useClass: TableTeamAccessPolicy }, TeamGuard, TeamsService],
  exports: [TeamAccessPolicy, TeamGuard, TeamsService],
})
export class TeamsModule {}
