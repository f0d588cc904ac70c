import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { parseOpaqueId } from '../integrations/jira/common/opaque-id.js';
import { teamAccessConfig } from '../config/team-access.config.js';
import type { TeamRole } from '../integrations/jira/teams/team-role.js';
import { mapRole, TeamAccessPolicy, type TokenClaims } from '../integrations/jira/teams/team-access.policy.js';

/**
 * TEAM_ACCESS_POLICY=claims: the role comes from the verified bearer token, claim AUTH_TEAMS_CLAIM
 * holding `{ "<teamId>": "<role>" }` or `[{ "id": "<teamId>", "role": "<role>" }]`, roles mapped
 * through AUTH_ROLE_MAP. A missing or malformed claim means no team at all. No local rows needed.
 */
@Injectable()
export class ClaimsTeamAccessPolicy extends TeamAccessPolicy {
  override readonly answersWithoutToken = false;

  constructor(@Inject(teamAccessConfig.KEY) private readonly settings: ConfigType<typeof teamAccessConfig>) {
    super();
  }

  async roleOf(teamId: string, _userId: string, claims?: TokenClaims): Promise<TeamRole | null> {
    const teams = claims?.[this.settings.teamsClaim];
    const sameTeam = (id: unknown) => parseOpaqueId(id) === teamId;
    if (Array.isArray(teams)) {
      const entry = teams.find((t: unknown) => typeof t === 'object' && t !== null && sameTeam((t as { id?: unknown }).id)) as
        { role?: unknown } | undefined;
      return mapRole(entry?.role, this.settings.roleMap);
    }
    if (typeof teams === 'object' && teams !== null) {
      const key = Object.keys(teams).find(sameTeam);
      return key === undefined ? null : mapRole((teams as Record<string, unknown>)[key], this.settings.roleMap);
    }
    return null;
  }
}
