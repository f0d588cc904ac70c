import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { TeamRole } from '../integrations/jira/teams/team-role.js';

export interface Membership {
  teamId: string;
  userId: string;
  role: TeamRole;
}

/**
 * Minimal team/user bookkeeping for development and tests (the host product owns these tables
 * in production). Idempotent: finds what exists, creates what is missing.
 */
@Injectable()
export class TeamsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  ensureMembership(email: string, teamName: string, role: TeamRole): Promise<Membership> {
    return this.dataSource.transaction((m) => ensureMembership(m, email, teamName, role));
  }
}

export async function ensureMembership(m: EntityManager, email: string, teamName: string, role: TeamRole): Promise<Membership> {
  const normalizedEmail = email.trim().toLowerCase();
  const [user] = (await m.query(
    `INSERT INTO users (email) VALUES ($1)
     ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id`,
    [normalizedEmail],
  )) as { id: string }[];
  const existing = (await m.query('SELECT id FROM teams WHERE name = $1 ORDER BY created_at LIMIT 1', [teamName])) as { id: string }[];
  const teamId = existing[0]?.id ?? ((await m.query('INSERT INTO teams (name) VALUES ($1) RETURNING id', [teamName])) as { id: string }[])[0].id;
  await m.query(
    `INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3)
     ON CONFLICT (team_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
    [teamId, user.id, role],
  );
  return { teamId, userId: user.id, role };
}

/**
 * Makes sure the team and the user rows exist (the product's ids; the name defaults to the id), so
 * rows that reference them can be written whatever the membership policy.
 */
export async function ensureTeamAndUser(m: EntityManager, teamId: string, userId: string): Promise<void> {
  await m.query('INSERT INTO teams (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING', [teamId]);
  await m.query('INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [userId]);
}
