import { Check, Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'teams' })
@Check('teams_id_length', '(((char_length(id) >= 1) AND (char_length(id) <= 255)))')
export class Team {
  /** The product's opaque id (see src/integrations/jira/common/opaque-id.ts); a random UUID when none is given. */
  // The column's DEFAULT is gen_random_uuid()::text; TypeORM compares defaults with their casts removed.
  @PrimaryColumn({ type: 'text', default: () => '(gen_random_uuid())' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
