// The amount a BOLT11 invoice asks for, read from its human-readable part (`lnbcrt25u1…` →
// 2 500 000 msat). The CLI needs only this to build a land intent; the gateway decodes and checks
// the whole invoice (signature, expiry, amount against the intent) before paying it.
import { usage } from './errors.ts';

// msat per unit of each multiplier (1 BTC = 100 000 000 000 msat); pico-BTC are tenths of a msat.
const MSAT: Record<string, bigint> = { m: 100_000_000n, u: 100_000n, n: 100n };

export function invoiceAmountMsat(invoice: string): bigint {
  const text = invoice
    .trim()
    .replace(/^lightning:/i, '')
    .toLowerCase();
  const hrp = text.slice(0, text.lastIndexOf('1'));
  const match = /^ln(bcrt|bc|tbs|tb|sb)(\d+)?([munp])?$/.exec(hrp);
  if (!match) throw usage('not a BOLT11 invoice (expected lnbc…, lntb…, lnbcrt…)');
  const [, , digits, multiplier] = match;
  if (!digits) throw usage('the invoice has no amount; a land needs an invoice with an amount');
  const value = BigInt(digits);
  if (multiplier === 'p') {
    if (value % 10n !== 0n) throw usage('the invoice amount is not a whole msat');
    return value / 10n;
  }
  return multiplier ? value * MSAT[multiplier]! : value * 100_000_000_000n;
}
