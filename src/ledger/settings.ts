// Small shared runtime state in the `settings` table (one JSON value per name), and a lease on
// top of it: the ledger's toggles and "only one instance at a time" claims live here so every
// instance sees the same, on SQLite and MariaDB alike.
import { randomUUID } from 'node:crypto';
import type { Database } from '../store/database.ts';
import { isUniqueViolation } from '../store/db-errors.ts';

export async function readSetting<T>(database: Database, name: string): Promise<T | undefined> {
  const row = await database.db
    .selectFrom('settings')
    .select('value_json')
    .where('name', '=', name)
    .executeTakeFirst();
  return row ? (JSON.parse(row.value_json) as T) : undefined;
}

/** Inserts or replaces the value of `name`. */
export async function writeSetting(
  database: Database,
  name: string,
  value: unknown,
  now: number,
): Promise<void> {
  const value_json = JSON.stringify(value);
  try {
    await database.db.insertInto('settings').values({ name, value_json, updated_at: now }).execute();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // MariaDB counts only changed rows, so the count of this update says nothing: not checked.
    await database.db
      .updateTable('settings')
      .set({ value_json, updated_at: now })
      .where('name', '=', name)
      .execute();
  }
}

/**
 * A lease held in the settings row `name`: the value names the holder, `updated_at` is when it
 * was taken or last renewed, and it lapses `ttlMs` later (a holder that died frees it then).
 * Taking it is one conditional UPDATE (or the first INSERT), so of instances racing for it the
 * database lets exactly one through.
 */
export class SettingsLease {
  readonly #database: Database;
  readonly #name: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #holder: string;

  constructor(
    database: Database,
    name: string,
    options: { ttlMs: number; holder: string; now?: () => number },
  ) {
    this.#database = database;
    this.#name = name;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#holder = options.holder;
  }

  /** A token when taken; undefined when another holder's lease is still running. */
  async acquire(): Promise<string | undefined> {
    const now = this.#now();
    const token = JSON.stringify({ holder: this.#holder, lease: randomUUID() });
    const taken = await this.#database.db
      .updateTable('settings')
      .set({ value_json: token, updated_at: now })
      .where('name', '=', this.#name)
      .where('updated_at', '<=', now - this.#ttlMs)
      .executeTakeFirst();
    if (taken.numUpdatedRows === 1n) return token;
    try {
      await this.#database.db
        .insertInto('settings')
        .values({ name: this.#name, value_json: token, updated_at: now })
        .execute();
      return token;
    } catch (error) {
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  }

  /** Extends the lease; false when it was lost (lapsed and taken by another). */
  async renew(token: string): Promise<boolean> {
    const result = await this.#database.db
      .updateTable('settings')
      .set({ updated_at: this.#now() })
      .where('name', '=', this.#name)
      .where('value_json', '=', token)
      .executeTakeFirst();
    if (result.numUpdatedRows === 1n) return true;
    // MariaDB reports 0 when the time did not change (same millisecond): ask who holds it.
    return (await this.#current()) === token;
  }

  async #current(): Promise<string | undefined> {
    const row = await this.#database.db
      .selectFrom('settings')
      .select('value_json')
      .where('name', '=', this.#name)
      .executeTakeFirst();
    return row?.value_json;
  }

  /** Frees the lease at once (only if still ours). */
  async release(token: string): Promise<void> {
    await this.#database.db
      .updateTable('settings')
      .set({ updated_at: 0 })
      .where('name', '=', this.#name)
      .where('value_json', '=', token)
      .execute();
  }

  /** Removes the lease row (only if still ours): for a one-off job that leaves nothing behind. */
  async drop(token: string): Promise<void> {
    await this.#database.db
      .deleteFrom('settings')
      .where('name', '=', this.#name)
      .where('value_json', '=', token)
      .execute();
  }
}
