import type { MigrationInterface, QueryRunner } from 'typeorm';

interface ForeignKey {
  name: string;
  tbl: string;
  col: string;
  def: string;
}

/** Columns that hold a product id without a foreign key to say so (the initial schema has none). */
const ID_COLUMN_NAMES = `column_name IN ('team_id', 'user_id') OR column_name LIKE '%\\_user\\_id'`;
/** What the down migration converts back besides foreign keys: the initial schema's id columns. */
const INITIAL_ID_COLUMNS: [string, string][] = [
  ['teams', 'id'],
  ['users', 'id'],
  ['team_members', 'team_id'],
  ['team_members', 'user_id'],
  ['jira_integrations', 'team_id'],
  ['jira_integrations', 'connected_by_user_id'],
  ['jira_oauth_states', 'team_id'],
  ['jira_oauth_states', 'user_id'],
];
const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/**
 * Users and teams get the product's own ids (issue 9): every uuid team/user id column becomes
 * `text`, rows and foreign keys kept. Foreign keys are found in the catalog rather than listed, so
 * tables added by other migrations that reference teams or users convert too. Users may now lack
 * an email (the admin API creates them from an id alone).
 */
export class OpaqueIds1766000000000 implements MigrationInterface {
  name = 'OpaqueIds1766000000000';

  async up(q: QueryRunner): Promise<void> {
    const fks = await foreignKeysToTeamsAndUsers(q);
    for (const fk of fks) await q.query(`ALTER TABLE ${fk.tbl} DROP CONSTRAINT "${fk.name}"`);
    const columns = (await q.query(
      `SELECT table_name AS tbl, column_name AS col FROM information_schema.columns
       WHERE table_schema = current_schema() AND data_type = 'uuid' AND (${ID_COLUMN_NAMES})`,
    )) as { tbl: string; col: string }[];
    const targets = new Set([...columns.map((c) => `${c.tbl}.${c.col}`), ...fks.map((f) => `${f.tbl}.${f.col}`)]);
    for (const table of ['teams', 'users']) {
      await q.query(`ALTER TABLE ${table} ALTER COLUMN id DROP DEFAULT`);
      await q.query(`ALTER TABLE ${table} ALTER COLUMN id TYPE text USING id::text`);
      await q.query(`ALTER TABLE ${table} ALTER COLUMN id SET DEFAULT gen_random_uuid()::text`);
      await q.query(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_id_length CHECK (char_length(id) BETWEEN 1 AND 255)`);
    }
    for (const target of targets) {
      const [tbl, col] = target.split('.');
      await q.query(`ALTER TABLE ${tbl} ALTER COLUMN ${col} TYPE text USING ${col}::text`);
    }
    for (const fk of fks) await q.query(`ALTER TABLE ${fk.tbl} ADD CONSTRAINT "${fk.name}" ${fk.def}`);
    await q.query(`ALTER TABLE users ALTER COLUMN email DROP NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    const fks = await foreignKeysToTeamsAndUsers(q);
    const targets = new Set([...INITIAL_ID_COLUMNS.map(([t, c]) => `${t}.${c}`), ...fks.map((f) => `${f.tbl}.${f.col}`)]);
    // Refuse rather than lose rows: an id that is not a UUID has no uuid form.
    for (const target of targets) {
      const [tbl, col] = target.split('.');
      const [{ n }] = (await q.query(`SELECT count(*)::int AS n FROM ${tbl} WHERE ${col} !~* $1`, [UUID_PATTERN])) as { n: number }[];
      if (n > 0) {
        throw new Error(`Cannot revert OpaqueIds: ${n} row(s) of ${tbl}.${col} hold ids that are not UUIDs. Delete or re-key them first.`);
      }
    }
    for (const fk of fks) await q.query(`ALTER TABLE ${fk.tbl} DROP CONSTRAINT "${fk.name}"`);
    for (const table of ['teams', 'users']) {
      await q.query(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_id_length`);
      await q.query(`ALTER TABLE ${table} ALTER COLUMN id DROP DEFAULT`);
    }
    for (const target of targets) {
      const [tbl, col] = target.split('.');
      await q.query(`ALTER TABLE ${tbl} ALTER COLUMN ${col} TYPE uuid USING ${col}::uuid`);
    }
    for (const table of ['teams', 'users']) await q.query(`ALTER TABLE ${table} ALTER COLUMN id SET DEFAULT gen_random_uuid()`);
    for (const fk of fks) await q.query(`ALTER TABLE ${fk.tbl} ADD CONSTRAINT "${fk.name}" ${fk.def}`);
    await q.query(`UPDATE users SET email = id::text || '@unknown.invalid' WHERE email IS NULL`);
    await q.query(`ALTER TABLE users ALTER COLUMN email SET NOT NULL`);
  }
}

/** Single-column foreign keys that reference teams or users, with their definitions to re-create. */
async function foreignKeysToTeamsAndUsers(q: QueryRunner): Promise<ForeignKey[]> {
  return (await q.query(`
    SELECT c.conname AS name, c.conrelid::regclass::text AS tbl, a.attname AS col, pg_get_constraintdef(c.oid) AS def
    FROM pg_constraint c
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.contype = 'f' AND c.confrelid IN ('teams'::regclass, 'users'::regclass)
    ORDER BY 1`)) as ForeignKey[];
}
