import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { TeamRole } from '../../integrations/jira/teams/team-role.js';
import { Team } from './team.entity.js';
import { User } from './user.entity.js';

@Entity({ name: 'team_members' })
@Check('team_members_role_check', `((role = ANY (ARRAY['owner'::text, 'admin'::text, 'member'::text])))`)
@Index('team_members_user_id_idx', ['userId'])
export class TeamMember {
  @PrimaryColumn({ name: 'team_id', type: 'text' })
  teamId: string;

  @PrimaryColumn({ name: 'user_id', type: 'text' })
  userId: string;

  @Column({ type: 'text' })
  role: TeamRole;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => Team, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'team_id', foreignKeyConstraintName: 'team_members_team_id_fkey' })
  team?: Team;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'team_members_user_id_fkey' })
  user?: User;
}
