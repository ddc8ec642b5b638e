// Rendered pages of a user's VTXOs (GET /vtxos/user/{pk}), kept in memory and served again
// while the owner's VTXOs are unchanged. Wallets poll this endpoint; reading a page of 100 rows
// and rendering ~50 kB of JSON costs far more than the request around it.
//
// "Unchanged" comes from the database, not from this process: on SQLite every write to an
// owner's VTXOs bumps the owner's row in `vtxo_owner_versions` through triggers (migration
// 0005), whoever writes. A page is stored with the version read *before* the page itself, so
// a write landing between the two reads leaves the entry tagged with an old version that can
// never match again. On MariaDB (several instances, no triggers) there is no cache at all.
import { sql } from 'kysely';
import type { Database } from '../store/database.ts';

interface Entry {
  readonly version: number;
  readonly json: string;
}

export interface OwnerPageCacheOptions {
  /** Total size of the kept pages (UTF-16 code units ≈ bytes of ASCII JSON). */
  readonly maxChars?: number;
}

const DEFAULT_MAX_CHARS = 16 * 1024 * 1024;

export class OwnerPageCache {
  readonly #database: Database;
  readonly #enabled: boolean;
  readonly #maxChars: number;
  /** Insertion order is recency order: the first entry is the least recently used. */
  readonly #entries = new Map<string, Entry>();
  #chars = 0;

  constructor(database: Database, options: OwnerPageCacheOptions = {}) {
    this.#database = database;
    this.#enabled = database.kind === 'sqlite';
    this.#maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  }

  /** Pages kept and their total size, for tests and the curious. */
  get size(): { entries: number; chars: number } {
    return { entries: this.#entries.size, chars: this.#chars };
  }

  /**
   * The page `key` of `owner`: the kept one while the owner's version is unchanged, otherwise
   * `render()`'s, kept for next time.
   */
  async page(owner: string, key: string, render: () => Promise<string>): Promise<string> {
    if (!this.#enabled) return render();
    const version = await this.#version(owner);
    const id = `${owner}\n${key}`;
    const kept = this.#entries.get(id);
    if (kept && kept.version === version) {
      this.#entries.delete(id);
      this.#entries.set(id, kept);
      return kept.json;
    }
    const json = await render();
    this.#store(id, { version, json });
    return json;
  }

  async #version(owner: string): Promise<number> {
    const { rows } = await sql<{ version: number | bigint }>`
      select version from vtxo_owner_versions where owner_pubkey = ${owner}`.execute(this.#database.db);
    // No row: the owner never had a VTXO. The first insert makes it 1.
    return rows.length === 0 ? 0 : Number(rows[0]!.version);
  }

  #store(id: string, entry: Entry): void {
    const old = this.#entries.get(id);
    if (old) {
      this.#entries.delete(id);
      this.#chars -= old.json.length;
    }
    if (entry.json.length > this.#maxChars) return;
    this.#entries.set(id, entry);
    this.#chars += entry.json.length;
    for (const [oldest, value] of this.#entries) {
      if (this.#chars <= this.#maxChars) break;
      this.#entries.delete(oldest);
      this.#chars -= value.json.length;
    }
  }
}
