import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** The host product's own tables: integer keys, its own names, its own role vocabulary. */
@Entity({ name: 'app_users' })
export class HostUser {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'text' })
  name: string;

  /** SHA-256 of the user's API key (the host's simple authentication). */
  @Column({ name: 'api_key_hash', type: 'text', unique: true })
  apiKeyHash: string;
}

@Entity({ name: 'app_teams' })
export class HostTeam {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'text' })
  name: string;
}

export const HOST_ROLES = ['owner', 'editor', 'viewer'] as const;
export type HostRole = (typeof HOST_ROLES)[number];

@Entity({ name: 'app_memberships' })
export class HostMembership {
  @PrimaryColumn({ name: 'team_id', type: 'integer' })
  teamId: number;

  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId: number;

  @Column({ type: 'text' })
  role: HostRole;
}

export const hostEntities = [HostUser, HostTeam, HostMembership];
