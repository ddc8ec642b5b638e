// The wallet's key on disk: a small JSON file `{version, nsec, npub}`, owner-only (0600) in an
// owner-only directory. A key file readable by others is refused, like ssh refuses such a key:
// the nsec is the owner key of every VTXO the wallet holds. A file holding just an nsec or 64
// hex characters (a key made elsewhere) is read too.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { WalletKey } from '../wallet/index.ts';
import { usage } from './errors.ts';

export const DEFAULT_KEY_FILE = join('.arkrelay', 'wallet.key');

/** `--key`, else ARKRELAY_WALLET_KEY, else ~/.arkrelay/wallet.key. */
export function keyFilePath(
  option: string | undefined,
  envPath: string | undefined,
  home = homedir(),
): string {
  return resolve(option ?? envPath ?? join(home, DEFAULT_KEY_FILE));
}

interface KeyFileBody {
  readonly version: 1;
  readonly nsec: string;
  readonly npub: string;
  readonly created_at: string;
}

/** Writes a new key; refuses to replace an existing file unless `force`. */
export function writeKeyFile(path: string, key: WalletKey, force: boolean): void {
  if (existsSync(path) && !force) {
    throw usage(`${path} already exists; refusing to overwrite a key (use --force to replace it)`);
  }
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const body: KeyFileBody = {
    version: 1,
    nsec: key.nsec,
    npub: key.npub,
    created_at: new Date().toISOString(),
  };
  // `mode` applies only when the file is created; chmod also tightens a replaced one.
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function readKeyFile(path: string): WalletKey {
  if (!existsSync(path)) {
    throw usage(`no key file at ${path}; create one with \`arkrelay-wallet keygen\` or pass --key <file>`);
  }
  const mode = statSync(path).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw usage(
      `${path} is readable by others (mode ${mode.toString(8)}); run \`chmod 600 ${path}\` — it holds your secret key`,
    );
  }
  const text = readFileSync(path, 'utf8').trim();
  try {
    if (text.startsWith('{')) {
      const body = JSON.parse(text) as Partial<KeyFileBody>;
      if (typeof body.nsec !== 'string') throw new Error('no nsec field');
      return WalletKey.from(body.nsec);
    }
    return WalletKey.from(text);
  } catch (error) {
    throw usage(`${path} does not hold a wallet key: ${(error as Error).message}`);
  }
}
