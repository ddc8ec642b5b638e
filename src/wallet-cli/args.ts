// Command-line values, checked before anything is sent: amounts are positive whole numbers in
// the asset's base unit (never a float), asset ids and VTXO ids have the protocol's shape.
import { usage } from './errors.ts';

export function parseAmountArg(text: string, what = 'amount'): bigint {
  if (!/^[1-9]\d{0,29}$/.test(text.trim())) {
    throw usage(
      `${what} must be a positive whole number in the asset's base unit (got ${JSON.stringify(text)})`,
    );
  }
  return BigInt(text.trim());
}

export function parseAssetArg(text: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(text)) throw usage(`not an asset id: ${JSON.stringify(text)}`);
  return text;
}

export function parseVtxoIdArg(text: string): string {
  if (!/^[0-9a-f]{64}:\d{1,10}$/.test(text))
    throw usage(`a VTXO id is <txid>:<vout> (got ${JSON.stringify(text)})`);
  return text;
}

export function parseTimeoutArg(text: string): number {
  if (!/^[1-9]\d{0,5}$/.test(text)) throw usage('--timeout is a whole number of seconds');
  return Number(text) * 1000;
}
