import type { EntityManager } from 'typeorm';
import type { TeamRole } from '../integrations/jira/teams/team-role.js';
import { TeamMember } from './entities/team-member.entity.js';
import { Team } from './entities/team.entity.js';
import { User } from './entities/user.entity.js';

export interface Membership {
  teamId: string;
  userId: string;
  role: TeamRole;
}

/**
 * Team/user bookkeeping for the CLI's `dev:token` and the sandbox (the host product owns these
 * tables in production). Idempotent: finds what exists, creates what is missing.
 */
export async function ensureMembership(m: EntityManager, email: string, teamName: string, role: TeamRole): Promise<Membership> {
  const normalizedEmail = email.trim().toLowerCase();
  const inserted = await m.createQueryBuilder().insert().into(User).values({ email: normalizedEmail })
    .orUpdate(['email'], ['email']).returning('id').execute();
  const userId = (inserted.raw as { id: string }[])[0].id;
  const existing = await m.findOne(Team, { select: { id: true }, where: { name: teamName }, order: { createdAt: 'ASC' } });
  const teamId = existing?.id
    ?? ((await m.createQueryBuilder().insert().into(Team).values({ name: teamName }).returning('id').execute()).raw as { id: string }[])[0].id;
  await setMemberRole(m, teamId, userId, role);
  return { teamId, userId, role };
}

/** Adds the membership, or changes its role (the team and the user must exist). */
export async function setMemberRole(m: EntityManager, teamId: string, userId: string, role: TeamRole): Promise<void> {
  await m.upsert(TeamMember, { teamId, userId, role }, ['teamId', 'userId']);
}

/**
 * Makes sure the team and the user rows exist (the product's ids; the name defaults to the id), so
 * rows that reference them can be written whatever the membership policy.
 */
export async function ensureTeamAndUser(m: EntityManager, teamId: string, userId: string): Promise<void> {
  await m.createQueryBuilder().insert().into(Team).values({ id: teamId, name: teamId }).orIgnore().execute();
  await m.createQueryBuilder().insert().into(User).values({ id: userId }).orIgnore().execute();
}
