import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { TEAM_ROLES, type TeamRole } from './entities/team-member.entity.js';

/**
 * Decides what a user may do in a team. The default reads `team_members`; a host application
 * with its own membership model provides another implementation under this token.
 */
export abstract class TeamAccessPolicy {
  /** The user's role in the team, or null when they are not a member (or the team does not exist). */
  abstract roleOf(teamId: string, userId: string): Promise<TeamRole | null>;
}

@Injectable()
export class TableTeamAccessPolicy extends TeamAccessPolicy {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super();
  }

  async roleOf(teamId: string, userId: string): Promise<TeamRole | null> {
    const rows: { role: string }[] = await this.dataSource.query(
      'SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2',
      [teamId, userId],
    );
    const role = rows[0]?.role;
    return role && (TEAM_ROLES as readonly string[]).includes(role) ? (role as TeamRole) : null;
  }
}
