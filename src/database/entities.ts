import { jiraConnectEntities } from '../integrations/jira/entities/index.js';
import { Team } from '../teams/entities/team.entity.js';
import { TeamMember } from '../teams/entities/team-member.entity.js';
import { User } from '../teams/entities/user.entity.js';

/** The standalone server's tables (teams, users, team_members) and the module's. */
export const entities = [Team, User, TeamMember, ...jiraConnectEntities];
