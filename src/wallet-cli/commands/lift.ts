// `lift <asset> <amount>`: asks the gateway for a Lightning invoice (`lift_lightning`) and prints
// it. `--wait` then waits until it is paid and credited (the gateway's `lift_paid` notification);
// `--pay` first pays it through the simulator (simulator mode only) and waits the same way.
import type { Output } from '../output.ts';
import { parseAmountArg, parseAssetArg } from '../args.ts';
import { CliError, EXIT } from '../errors.ts';
import { assertSimulator, simPay } from '../gateway.ts';
import { openSession, request, type GlobalOptions, type Session } from '../session.ts';

interface LiftAnswer {
  readonly bolt11: string;
  readonly payment_hash: string;
  readonly expires_at: number;
  readonly amount: string;
  readonly amount_msat: string;
  readonly asset_id: string;
}

interface LiftPaid {
  readonly type: 'lift_paid';
  readonly payment_hash: string;
  readonly vtxo_id: string;
  readonly ark_txid: string;
}

function waitPaid(session: Session, paymentHash: string, timeoutMs: number): Promise<LiftPaid> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(
        new CliError(`the invoice was not paid and credited within ${timeoutMs / 1000} s`, {
          exitCode: EXIT.UNREACHABLE,
        }),
      );
    }, timeoutMs);
    const stop = session.wallet.on('notification', ({ body }) => {
      if (body.type === 'lift_paid' && body.payment_hash === paymentHash) {
        clearTimeout(timer);
        stop();
        resolve(body as unknown as LiftPaid);
      }
    });
  });
}

export async function lift(
  assetText: string,
  amountText: string,
  flags: { pay: boolean; wait: boolean },
  options: GlobalOptions,
  out: Output,
): Promise<void> {
  const assetId = parseAssetArg(assetText);
  const amount = parseAmountArg(amountText);
  const session = await openSession(options, out);
  try {
    if (flags.pay) await assertSimulator(session.target);
    const invoice = await request<LiftAnswer>(session, 'lift_lightning', {
      asset_id: assetId,
      amount: amount <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(amount) : amount.toString(),
    });
    const lines = [
      `invoice for ${invoice.amount} ${invoice.asset_id} (${invoice.amount_msat} msat), expires ${new Date(invoice.expires_at * 1000).toISOString()}:`,
      invoice.bolt11,
    ];
    if (!flags.pay && !flags.wait) {
      out.result(lines, { ...invoice, paid: false });
      return;
    }
    out.progress(
      `invoice ${invoice.payment_hash.slice(0, 12)}… ${flags.pay ? 'paying it through the simulator' : 'waiting for payment'}`,
    );
    const paid = waitPaid(session, invoice.payment_hash, options.timeoutMs);
    paid.catch(() => undefined);
    if (flags.pay) await simPay(session.target, invoice.bolt11);
    const credit = await paid;
    out.result([...lines, `paid: ${invoice.amount} ${invoice.asset_id} credited as VTXO ${credit.vtxo_id}`], {
      ...invoice,
      paid: true,
      vtxo_id: credit.vtxo_id,
      ark_txid: credit.ark_txid,
    });
  } finally {
    session.close();
  }
}
