// Run as a child process by migrations.test.ts: migrates the SQLite file given as argument
// and prints what it applied, so several real processes can race on one file.
import { openDatabase } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrator.ts';
import { silentLogger } from '../support/test-database.ts';

const [file, startAt] = process.argv.slice(2);
if (!file || !startAt) throw new Error('usage: migrate-child.ts <sqlite file> <start at, unix ms>');
const database = await openDatabase({ kind: 'sqlite', file }, silentLogger);
// Every child starts migrating at the same instant, so they really race.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
try {
  process.stdout.write(JSON.stringify(await migrateToLatest(database, silentLogger)));
} finally {
  await database.close();
}
