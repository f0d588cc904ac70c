import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { teamAccessConfig } from '../config/team-access.config.js';
import { ClaimsTeamAccessPolicy } from './claims-team-access.policy.js';
import { HttpTeamAccessPolicy } from './http-team-access.policy.js';
import { JIRA_TEAM_ACCESS, TeamAccessPolicy, TableTeamAccessPolicy } from '../integrations/jira/teams/team-access.policy.js';
import { TeamGuard } from '../integrations/jira/teams/team.guard.js';

@Global()
@Module({
  providers: [
    TableTeamAccessPolicy,
    ClaimsTeamAccessPolicy,
    HttpTeamAccessPolicy,
    {
      // TEAM_ACCESS_POLICY picks the implementation; tests and host apps may override the token.
      provide: TeamAccessPolicy,
      inject: [teamAccessConfig.KEY, TableTeamAccessPolicy, ClaimsTeamAccessPolicy, HttpTeamAccessPolicy],
      useFactory: (settings: ConfigType<typeof teamAccessConfig>, table: TableTeamAccessPolicy, claims: ClaimsTeamAccessPolicy,
        http: HttpTeamAccessPolicy): TeamAccessPolicy => ({ table, claims, http })[settings.policy],
    },
    // The module's TeamGuard asks the policy through the module's port token.
    { provide: JIRA_TEAM_ACCESS, useExisting: TeamAccessPolicy },
    TeamGuard,
  ],
  exports: [TeamAccessPolicy, JIRA_TEAM_ACCESS, TeamGuard],
})
export class TeamsModule {}
