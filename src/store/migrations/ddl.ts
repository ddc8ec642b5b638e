// Dialect differences of the DDL, in one place. Migrations use these; a change here changes
// what every old migration creates on a fresh database, so only ever add to this file.
import { sql, type CreateTableBuilder, type Kysely } from 'kysely';

/** A column type as addColumn takes it (Kysely does not export the name). */
export type DataTypeExpression = Parameters<CreateTableBuilder<string>['addColumn']>[1];

export type DialectKind = 'sqlite' | 'mariadb';

export interface ColumnTypes {
  /** Auto-increment surrogate key: INTEGER PRIMARY KEY (the rowid) / BIGINT AUTO_INCREMENT. */
  readonly autoId: DataTypeExpression;
  /** Large text (PSBTs, event JSON): TEXT / MEDIUMTEXT (16 MiB; TEXT stops at 64 KiB). */
  readonly bigText: DataTypeExpression;
  /** Bounded text (messages, BOLT11, small JSON): TEXT on both. */
  readonly text: DataTypeExpression;
}

export function columnTypes(kind: DialectKind): ColumnTypes {
  return kind === 'sqlite'
    ? { autoId: 'integer', bigText: 'text', text: 'text' }
    : { autoId: 'bigint', bigText: sql`mediumtext`, text: 'text' };
}

/**
 * CREATE TABLE IF NOT EXISTS, with InnoDB and binary utf8mb4 on MariaDB (hex ids and keys
 * compare exactly, as in SQLite). IF NOT EXISTS because MariaDB DDL is not transactional:
 * a migration cut off halfway must be able to simply run again.
 */
export function createTable(
  db: Kysely<unknown>,
  kind: DialectKind,
  name: string,
): CreateTableBuilder<string> {
  const builder = db.schema.createTable(name).ifNotExists();
  return kind === 'mariadb'
    ? builder.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin`)
    : builder;
}

/** CREATE [UNIQUE] INDEX IF NOT EXISTS (MariaDB has it; MySQL does not, and is not a target). */
export async function createIndex(
  db: Kysely<unknown>,
  name: string,
  table: string,
  columns: readonly string[],
  options: { readonly unique?: boolean } = {},
): Promise<void> {
  let builder = db.schema
    .createIndex(name)
    .ifNotExists()
    .on(table)
    .columns([...columns]);
  if (options.unique) builder = builder.unique();
  await builder.execute();
}
