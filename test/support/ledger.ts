// After a ledger scenario: the invariant and the integrity checks must hold. Fails with the
// whole report (which asset is off by how much, which rows break which check), not just "false".
import { expect } from 'vitest';
import { checkLedger, ledgerCheckJson, type LedgerCheck } from '../../src/ledger/invariant.ts';
import type { Database } from '../../src/store/database.ts';

export async function expectLedgerConsistent(database: Database): Promise<LedgerCheck> {
  const report = await checkLedger(database);
  if (!report.ok) {
    expect.fail(`ledger is inconsistent:\n${JSON.stringify(ledgerCheckJson(report), null, 2)}`);
  }
  return report;
}
