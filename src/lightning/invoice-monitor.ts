// The invoice subscription: lnd's stream of invoice updates, resumed after any restart from the
// highest settle_index the gateway has recorded (`subscription_cursors`, row `lnd:invoices`), so
// a settlement that happened while the gateway was down is replayed to it. Updates are handled
// one at a time, in order; the cursor advances only after an update was handled, so a crash
// replays it (handling is idempotent). A broken stream is resubscribed from the cursor with
// backoff (1 s doubling to 30 s). Several processes may run it at once: every effect is a
// conditional update, and the cursor only ever moves forward.
import type { LightningBackend, LightningInvoice } from '../backends/lnd/lightning-backend.ts';
import type { Unsubscribe } from '../backends/types.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import { isUniqueViolation } from '../store/db-errors.ts';
import { toBigInt } from '../store/values.ts';

export const INVOICE_CURSOR = 'lnd:invoices';
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

export interface InvoiceMonitorDeps {
  readonly database: Database;
  readonly lightning: LightningBackend;
  /** Handles one update (the lift service); throws when it could not be recorded. */
  readonly onInvoice: (invoice: LightningInvoice) => Promise<unknown>;
  readonly logger: Logger;
  readonly now?: () => number;
}

export async function readCursor(database: Database): Promise<bigint> {
  const row = await database.db
    .selectFrom('subscription_cursors')
    .select('settle_index')
    .where('name', '=', INVOICE_CURSOR)
    .executeTakeFirst();
  return row ? toBigInt(row.settle_index) : 0n;
}

/** Moves the cursor forward to `settleIndex` (never back). */
export async function advanceCursor(database: Database, settleIndex: bigint, now: number): Promise<void> {
  try {
    await database.db
      .insertInto('subscription_cursors')
      .values({ name: INVOICE_CURSOR, add_index: 0n, settle_index: settleIndex, updated_at: now })
      .execute();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await database.db
      .updateTable('subscription_cursors')
      .set({ settle_index: settleIndex, updated_at: now })
      .where('name', '=', INVOICE_CURSOR)
      .where('settle_index', '<', settleIndex)
      .execute();
  }
}

export class InvoiceMonitor {
  readonly #deps: InvoiceMonitorDeps;
  readonly #now: () => number;
  #unsubscribe: Unsubscribe | undefined;
  #running = false;
  #generation = 0;
  #chain: Promise<void> = Promise.resolve();
  #retry: NodeJS.Timeout | undefined;
  #backoffMs = BACKOFF_MIN_MS;
  #handled = 0;
  #lastError: string | undefined;

  constructor(deps: InvoiceMonitorDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  get running(): boolean {
    return this.#running;
  }

  details(): Record<string, unknown> {
    return { handled: this.#handled, last_error: this.#lastError ?? null };
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#subscribe();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#generation++;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#chain;
  }

  async #subscribe(): Promise<void> {
    if (!this.#running) return;
    const generation = ++this.#generation;
    let cursor: bigint;
    try {
      cursor = await readCursor(this.#deps.database);
    } catch (error) {
      this.#broken(generation, error as Error);
      return;
    }
    this.#unsubscribe?.();
    this.#unsubscribe = this.#deps.lightning.subscribeInvoices(
      { settleIndex: cursor },
      (invoice) => this.#enqueue(generation, invoice),
      (error) => this.#broken(generation, error),
    );
    this.#deps.logger.info({ settle_index: cursor.toString() }, 'invoice subscription started');
  }

  #enqueue(generation: number, invoice: LightningInvoice): void {
    this.#chain = this.#chain.then(async () => {
      if (generation !== this.#generation) return;
      try {
        await this.#deps.onInvoice(invoice);
        if (invoice.state === 'settled' && invoice.settleIndex > 0n) {
          await advanceCursor(this.#deps.database, invoice.settleIndex, this.#now());
        }
        this.#handled++;
        this.#backoffMs = BACKOFF_MIN_MS;
      } catch (error) {
        // Not recorded: resubscribe from the cursor, which replays this update.
        this.#broken(generation, error as Error);
      }
    });
  }

  #broken(generation: number, error: Error): void {
    if (generation !== this.#generation || !this.#running) return;
    this.#generation++;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#lastError = error.message;
    const wait = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, BACKOFF_MAX_MS);
    this.#deps.logger.warn({ err: error, retry_in_ms: wait }, 'invoice subscription broken; resubscribing');
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#subscribe();
    }, wait);
    this.#retry.unref?.();
  }
}
