// `keygen`: a new wallet key in an owner-only file. The secret is never printed.
import { WalletKey } from '../../wallet/index.ts';
import { writeKeyFile } from '../key-file.ts';
import type { Output } from '../output.ts';

export function keygen(keyFile: string, force: boolean, out: Output): void {
  const key = WalletKey.generate();
  writeKeyFile(keyFile, key, force);
  out.result(
    [
      `wrote ${keyFile} (mode 600; back it up — it is the only key to your funds)`,
      `npub   ${key.npub}`,
      `pubkey ${key.pubkey}`,
    ],
    { key_file: keyFile, pubkey: key.pubkey, npub: key.npub },
  );
}
