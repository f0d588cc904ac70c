import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The host product's own tables: integer keys, its own columns and role vocabulary, and the very
 * names the standalone server uses for its directory (`users`, `teams`, `team_members`): the
 * module creates only `jira_*` tables, so nothing clashes.
 */
@Entity({ name: 'users' })
export class HostUser {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'text' })
  name: string;

  /** SHA-256 of the user's API key (the host's simple authentication). */
  @Column({ name: 'api_key_hash', type: 'text', unique: true })
  apiKeyHash: string;
}

@Entity({ name: 'teams' })
export class HostTeam {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text', default: 'free' })
  plan: string;
}

export const HOST_ROLES = ['owner', 'editor', 'viewer'] as const;
export type HostRole = (typeof HOST_ROLES)[number];

@Entity({ name: 'team_members' })
export class HostMembership {
  @PrimaryColumn({ name: 'team_id', type: 'integer' })
  teamId: number;

  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId: number;

  @Column({ type: 'text' })
  role: HostRole;
}

export const hostEntities = [HostUser, HostTeam, HostMembership];
