import { JiraIntegration } from '../integrations/jira/entities/jira-integration.entity.js';
import { JiraOAuthState } from '../integrations/jira/entities/jira-oauth-state.entity.js';
import { JiraJob } from '../integrations/jira/jobs/jira-job.entity.js';
import { Team } from '../teams/entities/team.entity.js';
import { TeamMember } from '../teams/entities/team-member.entity.js';
import { User } from '../teams/entities/user.entity.js';

export const entities = [Team, User, TeamMember, JiraIntegration, JiraOAuthState, JiraJob];
