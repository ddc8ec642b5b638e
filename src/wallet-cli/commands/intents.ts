// `send`, `split`, `land`: each signs one intent (remembered in the journal), publishes it, lets
// the wallet verify and answer the gateway's challenge, and waits for the 31340 confirmation
// — or exits non-zero with the 31341's protocol code.
import { toHexPubkey, type Confirmation, type Fee, type SignedIntent } from '../../wallet/index.ts';
import { parseAmountArg, parseAssetArg, parseVtxoIdArg } from '../args.ts';
import { invoiceAmountMsat } from '../bolt11-amount.ts';
import { usage } from '../errors.ts';
import type { Output } from '../output.ts';
import { openSession, publishAndWait, request, sync, type GlobalOptions, type Session } from '../session.ts';

export interface FeeFlags {
  /** Overrides the fee the intent declares (when the gateway's differs from the default). */
  readonly fee?: string;
  readonly feeAsset?: string;
}

function feeOf(flags: FeeFlags, defaultAsset: string): Fee | undefined {
  if (flags.fee === undefined) return undefined;
  return { asset_id: flags.feeAsset ?? defaultAsset, amount: parseAmountArg(flags.fee, '--fee') };
}

interface FeeSchedule {
  readonly intent?: { asset_id?: unknown; amount?: unknown };
  readonly 'lightning:land'?: { rate_ppm?: unknown; min?: unknown };
}

/** The fees the gateway announces in `info` (an intent must declare exactly the fee charged). */
async function schedule(session: Session): Promise<FeeSchedule> {
  return ((await request<{ fees?: FeeSchedule }>(session, 'info')).fees ?? {}) as FeeSchedule;
}

const isWhole = (v: unknown): v is string | number =>
  (typeof v === 'string' && /^\d{1,20}$/.test(v)) ||
  (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);

function intentFeeFrom(fees: FeeSchedule): Fee | undefined {
  const fee = fees.intent;
  if (typeof fee?.asset_id !== 'string' || !isWhole(fee.amount)) return undefined;
  return { asset_id: fee.asset_id, amount: BigInt(fee.amount) };
}

/** ppm of the landed amount, rounded up, at least `min`, in the landed asset. */
function landFeeFrom(fees: FeeSchedule, assetId: string, amount: bigint): Fee | undefined {
  const rule = fees['lightning:land'];
  if (!isWhole(rule?.rate_ppm) || !isWhole(rule?.min)) return undefined;
  const fee = (amount * BigInt(rule.rate_ppm) + 999_999n) / 1_000_000n;
  const min = BigInt(rule.min);
  return { asset_id: assetId, amount: fee < min ? min : fee };
}

function settled(intent: SignedIntent, confirmation: Confirmation, session: Session) {
  const mine = confirmation.created.filter((c) => c.owner === session.key.pubkey);
  return {
    status: 'settled' as const,
    action_id: intent.content.action_id,
    type: intent.content.type,
    intent_event_id: intent.event.id,
    ark_txid: confirmation.ark_txid,
    fee: intent.content.fee,
    created_for_me: mine,
    confirmation,
  };
}

async function run(
  options: GlobalOptions,
  out: Output,
  build: (session: Session, fees: FeeSchedule) => SignedIntent,
  describe: (intent: SignedIntent, confirmation: Confirmation, session: Session) => string[],
): Promise<void> {
  const session = await openSession(options, out);
  try {
    await sync(session); // the VTXOs the wallet will agree to sign for
    const intent = build(session, await schedule(session));
    const confirmation = await publishAndWait(session, intent, options, out);
    out.result(describe(intent, confirmation, session), settled(intent, confirmation, session));
  } finally {
    session.close();
  }
}

const feeText = (intent: SignedIntent) => `${intent.content.fee.amount} ${intent.content.fee.asset_id}`;

export function send(
  recipientText: string,
  assetText: string,
  amountText: string,
  flags: FeeFlags & { memo?: string },
  options: GlobalOptions,
  out: Output,
): Promise<void> {
  let recipient: string;
  try {
    recipient = toHexPubkey(recipientText);
  } catch {
    throw usage(`recipient must be an npub or 64 hex characters (got ${JSON.stringify(recipientText)})`);
  }
  const assetId = parseAssetArg(assetText);
  const amount = parseAmountArg(amountText);
  const fee = feeOf(flags, 'gBTC');
  return run(
    options,
    out,
    (session, fees) => {
      const declared = fee ?? intentFeeFrom(fees);
      return session.wallet.transferIntent({
        recipient,
        assetId,
        amount,
        ...(flags.memo !== undefined ? { memo: flags.memo } : {}),
        ...(declared ? { fee: declared } : {}),
      });
    },
    (intent, c) => [
      `sent ${amount} ${assetId} to ${recipientText} (fee ${feeText(intent)}) in Ark tx ${c.ark_txid}`,
    ],
  );
}

export function split(
  vtxoText: string,
  amountTexts: readonly string[],
  flags: FeeFlags,
  options: GlobalOptions,
  out: Output,
): Promise<void> {
  const vtxoId = parseVtxoIdArg(vtxoText);
  if (amountTexts.length < 2) throw usage('split needs at least two amounts');
  const amounts = amountTexts.map((a) => parseAmountArg(a));
  const fee = feeOf(flags, 'gBTC');
  return run(
    options,
    out,
    (session, fees) => {
      if (!session.wallet.vtxos.get(vtxoId)) {
        throw usage(`VTXO ${vtxoId} is not one of this wallet's (see \`arkrelay-wallet balance\`)`);
      }
      const declared = fee ?? intentFeeFrom(fees);
      return session.wallet.splitIntent({ vtxoId, amounts, ...(declared ? { fee: declared } : {}) });
    },
    (intent, c, session) => {
      const mine = c.created.filter((v) => v.owner === session.key.pubkey);
      return [
        `split ${vtxoId} into ${amounts.join(' + ')} (fee ${feeText(intent)}) in Ark tx ${c.ark_txid}`,
        ...mine.map((v) => `  ${v.vtxo_id}  ${v.amount} ${v.asset_id}`),
      ];
    },
  );
}

export function land(
  invoice: string,
  flags: FeeFlags & { asset?: string; amount?: string },
  options: GlobalOptions,
  out: Output,
): Promise<void> {
  const assetId = parseAssetArg(flags.asset ?? 'gBTC');
  const msat = invoiceAmountMsat(invoice);
  let amount: bigint;
  if (flags.amount !== undefined) amount = parseAmountArg(flags.amount, '--amount');
  else if (assetId === 'gBTC') {
    // gBTC is one sat per unit.
    if (msat % 1000n !== 0n) throw usage('the invoice amount is not a whole number of sats');
    amount = msat / 1000n;
  } else throw usage(`landing ${assetId}: give --amount in ${assetId} units`);
  const fee = feeOf(flags, assetId);
  return run(
    options,
    out,
    (session, fees) => {
      const declared = fee ?? landFeeFrom(fees, assetId, amount);
      return session.wallet.landIntent({
        assetId,
        amount,
        invoice: invoice.trim(),
        ...(declared ? { fee: declared } : {}),
      });
    },
    (intent, c) => [
      `landed ${amount} ${assetId} (fee ${feeText(intent)}): invoice paid, Ark tx ${c.ark_txid}`,
    ],
  );
}
