// What the simulated Ark server holds, read straight from its world file (DATA_DIR/sim/
// world.sqlite, shared by every process of a topology) without going through any gateway: the
// independent witness a test compares the ledger with. Read-only; the processes keep writing.
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export interface ServerVtxo {
  readonly outpoint: string;
  readonly spentBy: string | null;
  readonly pendingBy: string | null;
}

export interface ServerArkTx {
  readonly txid: string;
  readonly state: 'pending' | 'finalized';
}

export class ArkServerView {
  readonly #db: DatabaseSync;

  constructor(dataDir: string) {
    this.#db = new DatabaseSync(join(dataDir, 'sim', 'world.sqlite'), { readOnly: true });
    this.#db.exec('PRAGMA busy_timeout = 5000');
  }

  /** The server's view of these outpoints (`txid:vout`); unknown ones are left out. */
  vtxos(outpoints: readonly string[]): Map<string, ServerVtxo> {
    const found = new Map<string, ServerVtxo>();
    const query = this.#db.prepare('SELECT outpoint, spent_by, pending_by FROM vtxos WHERE outpoint = ?');
    for (const outpoint of outpoints) {
      const row = query.get(outpoint) as
        { outpoint: string; spent_by: string | null; pending_by: string | null } | undefined;
      if (row) found.set(outpoint, { outpoint, spentBy: row.spent_by, pendingBy: row.pending_by });
    }
    return found;
  }

  /** Every VTXO an Ark transaction holds pending right now. */
  pendingVtxos(): ServerVtxo[] {
    return (
      this.#db
        .prepare('SELECT outpoint, spent_by, pending_by FROM vtxos WHERE pending_by IS NOT NULL')
        .all() as { outpoint: string; spent_by: string | null; pending_by: string }[]
    ).map((r) => ({ outpoint: r.outpoint, spentBy: r.spent_by, pendingBy: r.pending_by }));
  }

  arkTx(txid: string): ServerArkTx | undefined {
    const row = this.#db.prepare('SELECT txid, state FROM ark_txs WHERE txid = ?').get(txid) as
      { txid: string; state: 'pending' | 'finalized' } | undefined;
    return row ? { txid: row.txid, state: row.state } : undefined;
  }

  close(): void {
    this.#db.close();
  }
}
