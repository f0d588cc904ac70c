import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'users' })
export class User {
  /** The product's opaque id (see src/integrations/jira/common/opaque-id.ts); a random UUID when none is given. */
  @PrimaryColumn({ type: 'text', default: () => 'gen_random_uuid()::text' })
  id: string;

  /** Null for users the admin API created from the product's id alone. */
  @Column({ type: 'text', unique: true, nullable: true })
  email: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
