import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'teams' })
export class Team {
  /** The product's opaque id (see src/integrations/jira/common/opaque-id.ts); a random UUID when none is given. */
  @PrimaryColumn({ type: 'text', default: () => 'gen_random_uuid()::text' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
