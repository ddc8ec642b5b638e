// The simulated Lightning node: real BOLT11 invoices signed by the node's key (payment hash =
// sha256 of a preimage derived from the world's seed), an invoice subscription that resumes
// from settle_index / add_index like lnd's, outgoing payments that succeed, fail or stay in
// flight as the sim controls say (resolved from the stored plan, so a restart in between
// finds the same outcome), and channel balances that move with every payment. A second,
// "external" node issues the invoices a land pays and plays the payer of our invoices.
import { createHash } from 'node:crypto';
import { hex } from '@scure/base';
import { SimBackend } from '../sim/sim-backend.ts';
import type { Row, SimWorld } from '../sim/world.ts';
import { BackendError, type Unsubscribe } from '../types.ts';
import type { LightningSimControls, PaymentBehaviour } from '../sim/controls.ts';
import { decodeBolt11, encodeBolt11 } from './bolt11.ts';
import type {
  DecodedPaymentRequest,
  InvoiceRequest,
  InvoiceSubscriptionCursor,
  LightningBackend,
  LightningBalances,
  LightningInfo,
  LightningInvoice,
  LightningPayment,
  PaymentFailureReason,
  PaymentRequest,
} from './lightning-backend.ts';

const NETWORK = 'regtest';
const DEFAULT_EXPIRY = 3600;
const BALANCES = { onchain: 50_000_000n, local: 10_000_000n, remote: 10_000_000n };
const DEFAULT_BEHAVIOUR: PaymentBehaviour = {
  outcome: 'succeed',
  delayMs: 0,
  failureReason: 'no_route',
  feeMsat: 1_000n,
};
const WAIT_POLL_MS = 50;

type Node = 'gateway' | 'external';

const sha256hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

function balance(world: SimWorld, key: 'onchain' | 'local' | 'remote'): bigint {
  return BigInt(world.meta(`ln_${key}_sats`) ?? BALANCES[key].toString());
}

function moveChannel(world: SimWorld, outgoingMsat: bigint): void {
  // Channel balances are whole sats, as lnd reports them.
  const sats = outgoingMsat / 1000n;
  world.setMeta('ln_local_sats', (balance(world, 'local') - sats).toString());
  world.setMeta('ln_remote_sats', (balance(world, 'remote') + sats).toString());
}

export function toInvoice(row: Row): LightningInvoice {
  const settled = row.state === 'settled';
  return {
    paymentRequest: String(row.payment_request),
    paymentHash: String(row.payment_hash),
    amountMsat: BigInt(String(row.amount_msat)),
    memo: String(row.memo),
    state: row.state as LightningInvoice['state'],
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    addIndex: BigInt(Number(row.add_index)),
    settleIndex: BigInt(Number(row.settle_index)),
    ...(settled
      ? {
          settledAt: Number(row.settled_at),
          amountPaidMsat: BigInt(String(row.amount_paid_msat)),
        }
      : {}),
    // lnd returns the preimage of invoices it created; the gateway's flows read it only once settled.
    preimage: String(row.preimage),
  };
}

/** Issues a signed invoice of one of the simulated nodes (the asset simulator uses it too). */
export function issueInvoice(
  world: SimWorld,
  node: Node,
  request: InvoiceRequest & { readonly assetId?: string; readonly assetAmount?: bigint },
): Row {
  if (request.amountMsat <= 0n) throw new BackendError('lnd', 'rejected', 'invoice amount must be positive');
  const expiry = request.expirySeconds ?? DEFAULT_EXPIRY;
  if (!Number.isInteger(expiry) || expiry <= 0)
    throw new BackendError('lnd', 'rejected', 'expiry must be positive');
  const key = node === 'gateway' ? world.keys.lnNode : world.keys.lnExternal;
  const row = world.tx(() => {
    const addIndex =
      Number(
        world.get('SELECT COALESCE(MAX(add_index), 0) AS i FROM invoices WHERE node = ?', node)?.i ?? 0,
      ) + 1;
    const preimage = world.derive('preimage', node, addIndex);
    const paymentHash = sha256hex(preimage);
    const now = world.nowSeconds();
    const paymentRequest = encodeBolt11(
      {
        network: NETWORK,
        amountMsat: request.amountMsat,
        paymentHash,
        paymentSecret: world.derive('payment-secret', node, addIndex).toString('hex'),
        memo: request.memo ?? '',
        timestamp: now,
        expirySeconds: expiry,
      },
      hex.encode(key.privateKey),
    );
    world.run(
      `INSERT INTO invoices (payment_hash, node, payment_request, preimage, amount_msat, memo, state, created_at,
         expires_at, add_index, asset_id, asset_amount) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)`,
      paymentHash,
      node,
      paymentRequest,
      preimage.toString('hex'),
      request.amountMsat.toString(),
      request.memo ?? '',
      now,
      now + expiry,
      addIndex,
      request.assetId ?? null,
      request.assetAmount?.toString() ?? null,
    );
    if (node === 'gateway') world.run('INSERT INTO invoice_events (payment_hash) VALUES (?)', paymentHash);
    return world.get('SELECT * FROM invoices WHERE payment_hash = ?', paymentHash)!;
  });
  world.notify();
  return row;
}

/** lnd cancels an open invoice once it expires; so does the simulator, when it next looks. */
function cancelExpired(world: SimWorld): void {
  const now = world.nowSeconds();
  const expired = world.all("SELECT payment_hash FROM invoices WHERE state = 'open' AND expires_at < ?", now);
  if (expired.length === 0) return;
  world.tx(() => {
    for (const { payment_hash } of expired) {
      const changed = world.run(
        "UPDATE invoices SET state = 'canceled' WHERE payment_hash = ? AND state = 'open'",
        String(payment_hash),
      );
      if (changed.changes === 1) {
        world.run(
          "INSERT INTO invoice_events (payment_hash) SELECT payment_hash FROM invoices WHERE payment_hash = ? AND node = 'gateway'",
          String(payment_hash),
        );
      }
    }
  });
}

function readBehaviour(world: SimWorld): PaymentBehaviour {
  const raw = world.meta('ln_behaviour');
  if (!raw) return DEFAULT_BEHAVIOUR;
  const parsed = JSON.parse(raw) as Omit<PaymentBehaviour, 'feeMsat'> & { feeMsat: string };
  return { ...parsed, feeMsat: BigInt(parsed.feeMsat) };
}

function toPayment(row: Row): LightningPayment {
  return {
    paymentHash: String(row.payment_hash),
    state: row.state as LightningPayment['state'],
    amountMsat: BigInt(String(row.amount_msat)),
    feeMsat: row.state === 'succeeded' ? BigInt(String(row.fee_msat)) : 0n,
    ...(row.state === 'succeeded' ? { preimage: String(row.preimage) } : {}),
    ...(row.state === 'failed' ? { failureReason: row.failure_reason as PaymentFailureReason } : {}),
    createdAt: Number(row.created_at),
  };
}

/** Applies the stored plan of an in-flight payment once its time has come. */
function resolvePayment(world: SimWorld, paymentHash: string): Row | undefined {
  return world.tx(() => {
    const row = world.get('SELECT * FROM payments WHERE payment_hash = ?', paymentHash);
    if (!row || row.state !== 'in_flight' || world.now() < Number(row.resolve_at_ms)) return row;
    if (row.planned === 'succeed') {
      const invoice = world.get(
        "SELECT * FROM invoices WHERE payment_hash = ? AND node = 'external'",
        paymentHash,
      );
      const now = world.nowSeconds();
      if (invoice && invoice.state === 'open' && Number(invoice.expires_at) >= now) {
        world.run(
          `UPDATE invoices SET state = 'settled', settled_at = ?, amount_paid_msat = ?,
             settle_index = (SELECT COALESCE(MAX(settle_index), 0) + 1 FROM invoices WHERE node = 'external')
           WHERE payment_hash = ?`,
          now,
          String(row.amount_msat),
          paymentHash,
        );
        moveChannel(world, BigInt(String(row.amount_msat)) + BigInt(String(row.fee_msat)));
        world.run(
          "UPDATE payments SET state = 'succeeded', preimage = ? WHERE payment_hash = ?",
          String(invoice.preimage),
          paymentHash,
        );
      } else {
        world.run(
          "UPDATE payments SET state = 'failed', failure_reason = 'incorrect_payment_details' WHERE payment_hash = ?",
          paymentHash,
        );
      }
    } else {
      world.run(
        "UPDATE payments SET state = 'failed', failure_reason = ? WHERE payment_hash = ?",
        String(row.planned_reason ?? 'error'),
        paymentHash,
      );
    }
    return world.get('SELECT * FROM payments WHERE payment_hash = ?', paymentHash);
  });
}

export interface PlannedPayment {
  readonly decoded: DecodedPaymentRequest;
  readonly assetId?: string;
  readonly assetAmount?: bigint;
}

export class LightningSimulator extends SimBackend implements LightningBackend {
  readonly name = 'lnd' as const;

  constructor(world: SimWorld) {
    super(world);
  }

  getInfo(): Promise<LightningInfo> {
    return this.call('getInfo', () => ({
      nodePubkey: this.world.keys.lnNode.compressedHex,
      alias: 'arkrelay-sim',
      network: NETWORK,
      blockHeight: this.world.tip()!.height,
      syncedToChain: true,
      activeChannels: 1,
      peers: 1,
      version: 'arkrelay-sim/1',
    }));
  }

  createInvoice(request: InvoiceRequest): Promise<LightningInvoice> {
    return this.call('createInvoice', () => toInvoice(issueInvoice(this.world, 'gateway', request)));
  }

  lookupInvoice(paymentHash: string): Promise<LightningInvoice | undefined> {
    return this.call('lookupInvoice', () => {
      cancelExpired(this.world);
      const row = this.world.get(
        "SELECT * FROM invoices WHERE payment_hash = ? AND node = 'gateway'",
        paymentHash,
      );
      return row ? toInvoice(row) : undefined;
    });
  }

  subscribeInvoices(
    cursor: InvoiceSubscriptionCursor,
    onInvoice: (invoice: LightningInvoice) => void,
    onError?: (error: Error) => void,
  ): Unsubscribe {
    const world = this.world;
    let last = Number(world.get('SELECT COALESCE(MAX(seq), 0) AS seq FROM invoice_events')?.seq ?? 0);
    // As lnd: a non-zero index first replays what happened after it, then the stream goes live.
    const backlog: Row[] = [];
    if (cursor.addIndex && cursor.addIndex > 0n) {
      backlog.push(
        ...world.all(
          "SELECT * FROM invoices WHERE node = 'gateway' AND add_index > ? ORDER BY add_index",
          Number(cursor.addIndex),
        ),
      );
    }
    if (cursor.settleIndex > 0n) {
      backlog.push(
        ...world.all(
          "SELECT * FROM invoices WHERE node = 'gateway' AND settle_index > ? ORDER BY settle_index",
          Number(cursor.settleIndex),
        ),
      );
    }
    let active = true;
    const stop = () => {
      active = false;
      remove();
    };
    const poll = () => {
      if (!active || world.closed) return;
      try {
        cancelExpired(world);
        const rows = world.all(
          `SELECT e.seq, i.* FROM invoice_events e JOIN invoices i ON i.payment_hash = e.payment_hash
           WHERE e.seq > ? ORDER BY e.seq`,
          last,
        );
        for (const row of rows) {
          last = Number(row.seq);
          if (active) onInvoice(toInvoice(row));
        }
      } catch (error) {
        stop();
        onError?.(error as Error);
      }
    };
    const remove = world.watch(poll);
    queueMicrotask(() => {
      for (const row of backlog) if (active) onInvoice(toInvoice(row));
      poll();
    });
    return stop;
  }

  decodePaymentRequest(paymentRequest: string): Promise<DecodedPaymentRequest> {
    return this.call('decodePaymentRequest', () => {
      try {
        return decodeBolt11(paymentRequest);
      } catch (error) {
        this.fail('rejected', `invalid payment request: ${(error as Error).message}`);
      }
    });
  }

  /** Records an outgoing payment with its planned outcome (shared with asset payments). */
  planPayment(request: PaymentRequest, extra: Omit<PlannedPayment, 'decoded'> = {}): string {
    let decoded: DecodedPaymentRequest;
    try {
      decoded = decodeBolt11(request.paymentRequest);
    } catch (error) {
      this.fail('rejected', `invalid payment request: ${(error as Error).message}`);
    }
    if (decoded.network !== NETWORK)
      this.fail('rejected', `invoice is for ${decoded.network}, this node is on ${NETWORK}`);
    const now = this.world.now();
    if (decoded.expiresAt * 1000 < now) this.fail('rejected', 'invoice expired');
    if (decoded.destination === this.world.keys.lnNode.compressedHex) {
      this.fail('rejected', 'no self-payments allowed');
    }
    const amountMsat = decoded.amountMsat ?? request.amountMsat;
    if (amountMsat === undefined || amountMsat <= 0n) this.fail('rejected', 'amount must be specified');
    if (request.maxFeeSats < 0n || request.timeoutSeconds <= 0)
      this.fail('rejected', 'fee limit and timeout are required');
    const behaviour = readBehaviour(this.world);
    const external = this.world.get(
      "SELECT state FROM invoices WHERE payment_hash = ? AND node = 'external'",
      decoded.paymentHash,
    );
    let planned: 'succeed' | 'fail' = 'succeed';
    let reason: PaymentFailureReason | null = null;
    let delayMs = behaviour.delayMs;
    if (!external) [planned, reason] = ['fail', 'no_route'];
    else if (external.state !== 'open') [planned, reason] = ['fail', 'incorrect_payment_details'];
    else if (behaviour.feeMsat > request.maxFeeSats * 1000n) [planned, reason] = ['fail', 'no_route'];
    else if (balance(this.world, 'local') * 1000n < amountMsat + behaviour.feeMsat)
      [planned, reason] = ['fail', 'insufficient_balance'];
    else if (behaviour.outcome === 'fail') [planned, reason] = ['fail', behaviour.failureReason];
    else if (behaviour.outcome === 'hold')
      [planned, reason, delayMs] = ['fail', 'timeout', request.timeoutSeconds * 1000];
    if (delayMs > request.timeoutSeconds * 1000)
      [planned, reason, delayMs] = ['fail', 'timeout', request.timeoutSeconds * 1000];
    this.world.tx(() => {
      const existing = this.world.get(
        'SELECT state FROM payments WHERE payment_hash = ?',
        decoded.paymentHash,
      );
      if (existing?.state === 'succeeded') this.fail('rejected', 'invoice is already paid');
      if (existing?.state === 'in_flight') this.fail('rejected', 'payment is in transition');
      // A failed payment may be tried again, as lnd allows.
      this.world.run('DELETE FROM payments WHERE payment_hash = ?', decoded.paymentHash);
      this.world.run(
        `INSERT INTO payments (payment_hash, payment_request, destination, amount_msat, fee_msat, state, created_at,
           planned, planned_reason, resolve_at_ms, asset_id, asset_amount) VALUES (?, ?, ?, ?, ?, 'in_flight', ?, ?, ?, ?, ?, ?)`,
        decoded.paymentHash,
        request.paymentRequest,
        decoded.destination,
        amountMsat.toString(),
        behaviour.feeMsat.toString(),
        this.world.nowSeconds(),
        planned,
        reason,
        now + delayMs,
        extra.assetId ?? null,
        extra.assetAmount?.toString() ?? null,
      );
    });
    return decoded.paymentHash;
  }

  async waitFinal(paymentHash: string): Promise<LightningPayment> {
    for (;;) {
      if (this.world.closed) this.fail('unavailable', 'lnd simulator is closed');
      const row = resolvePayment(this.world, paymentHash);
      if (!row) this.fail('not_found', `no payment ${paymentHash}`);
      if (row.state !== 'in_flight') return toPayment(row);
      const wait = Math.min(Math.max(Number(row.resolve_at_ms) - this.world.now(), 1), WAIT_POLL_MS);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  payInvoice(request: PaymentRequest): Promise<LightningPayment> {
    return this.call('payInvoice', () => this.waitFinal(this.planPayment(request)));
  }

  trackPayment(
    paymentHash: string,
    options: { readonly wait?: boolean } = {},
  ): Promise<LightningPayment | undefined> {
    return this.call('trackPayment', async () => {
      const row = resolvePayment(this.world, paymentHash);
      if (!row) return undefined;
      return options.wait && row.state === 'in_flight' ? this.waitFinal(paymentHash) : toPayment(row);
    });
  }

  getBalances(): Promise<LightningBalances> {
    return this.call('getBalances', () => ({
      onchainConfirmedSats: balance(this.world, 'onchain'),
      onchainUnconfirmedSats: 0n,
      channelLocalSats: balance(this.world, 'local'),
      channelRemoteSats: balance(this.world, 'remote'),
      channelPendingSats: 0n,
    }));
  }

  estimateFeeRate(targetConfirmations: number): Promise<bigint> {
    return this.call('estimateFeeRate', () => {
      if (!Number.isInteger(targetConfirmations) || targetConfirmations < 1)
        this.fail('rejected', 'target must be ≥ 1 block');
      const base = BigInt(this.world.meta('fee_rate') ?? '2');
      // Faster confirmation costs more, as a real estimator says.
      return targetConfirmations <= 2 ? base * 2n : targetConfirmations <= 6 ? base + base / 2n : base;
    });
  }

  estimateRoutingFee(destination: string, amountMsat: bigint): Promise<bigint> {
    return this.call('estimateRoutingFee', () => {
      if (!/^0[23][0-9a-f]{64}$/.test(destination))
        this.fail('rejected', 'destination must be a compressed node key');
      if (amountMsat <= 0n) this.fail('rejected', 'amount must be positive');
      return readBehaviour(this.world).feeMsat;
    });
  }
}

/** The sim-only controls of the Lightning simulator. */
export class LightningControls implements LightningSimControls {
  readonly #world: SimWorld;
  constructor(world: SimWorld) {
    this.#world = world;
  }

  #ours(bolt11OrPaymentHash: string): Row {
    const value = bolt11OrPaymentHash.trim();
    let hash = value.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      try {
        hash = decodeBolt11(value).paymentHash;
      } catch (error) {
        throw new BackendError(
          'lnd',
          'rejected',
          `not a payment hash or BOLT11 invoice: ${(error as Error).message}`,
        );
      }
    }
    const row = this.#world.get("SELECT * FROM invoices WHERE payment_hash = ? AND node = 'gateway'", hash);
    if (!row) throw new BackendError('lnd', 'not_found', `the simulated node has no invoice ${hash}`);
    return row;
  }

  async payInvoice(bolt11OrPaymentHash: string): Promise<LightningInvoice> {
    cancelExpired(this.#world);
    const found = this.#ours(bolt11OrPaymentHash);
    const hash = String(found.payment_hash);
    const row = this.#world.tx(() => {
      const current = this.#world.get('SELECT * FROM invoices WHERE payment_hash = ?', hash)!;
      if (current.state !== 'open') {
        throw new BackendError('lnd', 'rejected', `invoice ${hash} is ${String(current.state)}, not open`);
      }
      this.#world.run(
        `UPDATE invoices SET state = 'settled', settled_at = ?, amount_paid_msat = amount_msat,
           settle_index = (SELECT COALESCE(MAX(settle_index), 0) + 1 FROM invoices WHERE node = 'gateway')
         WHERE payment_hash = ?`,
        this.#world.nowSeconds(),
        hash,
      );
      moveChannel(this.#world, -BigInt(String(current.amount_msat)));
      this.#world.run('INSERT INTO invoice_events (payment_hash) VALUES (?)', hash);
      return this.#world.get('SELECT * FROM invoices WHERE payment_hash = ?', hash)!;
    });
    this.#world.notify();
    return toInvoice(row);
  }

  async cancelInvoice(paymentHash: string): Promise<LightningInvoice> {
    const hash = String(this.#ours(paymentHash).payment_hash);
    const row = this.#world.tx(() => {
      const changed = this.#world.run(
        "UPDATE invoices SET state = 'canceled' WHERE payment_hash = ? AND state = 'open'",
        hash,
      );
      if (changed.changes !== 1) throw new BackendError('lnd', 'rejected', `invoice ${hash} is not open`);
      this.#world.run('INSERT INTO invoice_events (payment_hash) VALUES (?)', hash);
      return this.#world.get('SELECT * FROM invoices WHERE payment_hash = ?', hash)!;
    });
    this.#world.notify();
    return toInvoice(row);
  }

  setPaymentBehaviour(change: Partial<PaymentBehaviour>): PaymentBehaviour {
    const next = { ...readBehaviour(this.#world), ...change };
    if (!['succeed', 'fail', 'hold'].includes(next.outcome))
      throw new BackendError('lnd', 'rejected', 'outcome is succeed, fail or hold');
    if (!Number.isInteger(next.delayMs) || next.delayMs < 0)
      throw new BackendError('lnd', 'rejected', 'delayMs must be ≥ 0');
    if (next.feeMsat < 0n) throw new BackendError('lnd', 'rejected', 'feeMsat must be ≥ 0');
    this.#world.setMeta('ln_behaviour', JSON.stringify({ ...next, feeMsat: next.feeMsat.toString() }));
    return next;
  }

  paymentBehaviour(): PaymentBehaviour {
    return readBehaviour(this.#world);
  }

  async createExternalInvoice(request: { amountMsat: bigint; memo?: string; expirySeconds?: number }) {
    const row = issueInvoice(this.#world, 'external', request);
    return {
      paymentRequest: String(row.payment_request),
      paymentHash: String(row.payment_hash),
      preimage: String(row.preimage),
    };
  }
}
