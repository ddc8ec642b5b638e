// Secrets the embedded default makes for itself on first start, kept in DATA_DIR with
// owner-only permissions so a laptop run needs no configuration and stays stable across restarts.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Secret } from './config.ts';

/** Reads DATA_DIR/<name>, creating it with 32 random bytes (hex) and mode 0600 when missing. */
export function ensureLocalSecret(dataDir: string, name: string): Secret {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, name);
  try {
    return new Secret(readFileSync(path, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // 'wx' fails if another process created it in between; then read theirs.
  try {
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  chmodSync(path, 0o600);
  return new Secret(readFileSync(path, 'utf8').trim());
}
