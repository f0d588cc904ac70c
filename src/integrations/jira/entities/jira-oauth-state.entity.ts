import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One pending authorization. Only the SHA-256 of the `state` value and of the browser-binding
 * cookie are stored, so a database read does not let anyone complete someone else's flow.
 */
@Entity({ name: 'jira_oauth_states' })
@Index('jira_oauth_states_expires_at_idx', ['expiresAt'])
@Index('jira_oauth_states_team_id_idx', ['teamId'])
export class JiraOAuthState {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'state_hash', type: 'text', unique: true })
  stateHash: string;

  @Column({ name: 'team_id', type: 'text' })
  teamId: string;

  @Column({ name: 'user_id', type: 'text' })
  userId: string;

  @Column({ name: 'binding_hash', type: 'text' })
  bindingHash: string;

  /** Normalized `siteUrl` the user asked for, used to pick among accessible sites. */
  @Column({ name: 'site_hint', type: 'text', nullable: true })
  siteHint: string | null;

  @Column({ name: 'return_to', type: 'text', nullable: true })
  returnTo: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'consumed_at', type: 'timestamptz', nullable: true })
  consumedAt: Date | null;

  /** Set when a newer authorize for the same team replaced this flow. */
  @Column({ name: 'superseded_at', type: 'timestamptz', nullable: true })
  supersededAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
