// A loopback lnd: a gRPC server over TLS (test certificate) speaking the protos the `lightning`
// package ships (loaded from node_modules at test time, never copied), checking the macaroon
// metadata on every call. It issues real BOLT11 invoices signed by its node key, settles them
// on command, and pays outgoing invoices with a configurable outcome. State is in memory.
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import bolt11 from 'bolt11';
import { Faults } from './faults.ts';

const require = createRequire(import.meta.url);
const PROTOS = join(dirname(require.resolve('lightning/package.json')), 'grpc', 'protos');
const LOADER_OPTIONS = {
  defaults: true,
  enums: String,
  keepCase: true,
  longs: String,
  oneofs: true,
  includeDirs: [PROTOS],
};

const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] };

interface FakeInvoice {
  preimage: Buffer;
  hash: Buffer;
  valueMsat: bigint;
  memo: string;
  createdAt: number;
  expiry: number;
  addIndex: number;
  settleIndex: number;
  state: 'OPEN' | 'SETTLED' | 'CANCELED';
  paymentRequest: string;
  paymentAddr: Buffer;
  settledAt: number;
}

interface FakePayment {
  hash: string;
  preimage: string;
  valueMsat: bigint;
  feeMsat: bigint;
  status: 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED';
  failure: string;
  createdNs: bigint;
  request: string;
  waiters: ((p: FakePayment) => void)[];
}

type Call = grpc.ServerUnaryCall<Record<string, unknown>, unknown>;
type Stream = grpc.ServerWritableStream<Record<string, unknown>, unknown>;
type Callback = grpc.sendUnaryData<unknown>;

export class LndFake {
  readonly faults = new Faults();
  // Shaped like lnd's own (version 2, then a location field: bytes 02 01), so its base64 starts
  // "AgE" as a real one does. Purely random bytes gave a base64 starting with "/" one run in 64,
  // which the loader rightly reads as a file path.
  readonly macaroonHex = `0201${randomBytes(30).toString('hex')}`;
  readonly nodeKey = secp256k1.utils.randomSecretKey();
  readonly nodePubkey = Buffer.from(secp256k1.getPublicKey(this.nodeKey, true)).toString('hex');
  readonly invoices = new Map<string, FakeInvoice>();
  readonly payments = new Map<string, FakePayment>();
  /** How outgoing payments end; `hold` keeps them in flight until `finishPayment`. */
  payOutcome: 'succeed' | 'no_route' | 'insufficient_balance' | 'hold' = 'succeed';
  feeMsat = 1_000n;
  #server: grpc.Server | undefined;
  #port = 0;
  #addIndex = 0;
  #settleIndex = 0;
  #subscribers = new Set<Stream>();
  /** Preimages of invoices from "other nodes", so a paid one can return the right preimage. */
  readonly #foreignPreimages = new Map<string, string>();

  /** Open invoice subscriptions. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async start(cert: { certPem: string; keyPem: string }, port = 0): Promise<void> {
    const load = (file: string) =>
      grpc.loadPackageDefinition(loadSync(join(PROTOS, file), LOADER_OPTIONS)) as Record<
        string,
        Record<string, { service: grpc.ServiceDefinition }>
      >;
    const lnrpc = load('lightning.proto').lnrpc!;
    const routerrpc = load('router.proto').routerrpc!;
    const walletrpc = load('walletkit.proto').walletrpc!;
    const server = new grpc.Server();
    server.addService(
      lnrpc.Lightning!.service,
      this.#guardAll({
        getInfo: this.#getInfo,
        addInvoice: this.#addInvoice,
        lookupInvoice: this.#lookupInvoice,
        subscribeInvoices: this.#subscribeInvoices,
        decodePayReq: this.#decodePayReq,
        walletBalance: this.#walletBalance,
        channelBalance: this.#channelBalance,
        queryRoutes: this.#queryRoutes,
      }),
    );
    server.addService(
      routerrpc.Router!.service,
      this.#guardAll({
        sendPaymentV2: this.#sendPaymentV2,
        trackPaymentV2: this.#trackPaymentV2,
      }),
    );
    server.addService(walletrpc.WalletKit!.service, this.#guardAll({ estimateFee: this.#estimateFee }));
    const credentials = grpc.ServerCredentials.createSsl(null, [
      { cert_chain: Buffer.from(cert.certPem), private_key: Buffer.from(cert.keyPem) },
    ]);
    this.#port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, credentials, (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    this.#server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.#subscribers) s.end();
    this.#subscribers.clear();
    this.#server?.forceShutdown();
    this.#server = undefined;
  }

  /** Wraps every handler with the macaroon check and the injected faults. */
  #guardAll(
    handlers: Record<string, (call: never, cb: Callback) => void>,
  ): grpc.UntypedServiceImplementation {
    const wrapped: grpc.UntypedServiceImplementation = {};
    for (const [name, handler] of Object.entries(handlers)) {
      wrapped[name] = (call: Call | Stream, cb?: Callback) => {
        const fail = (code: number, details: string) => {
          const error = { code, details, message: `${code} ${details}` } as grpc.ServiceError;
          if (cb) cb(error);
          else (call as Stream).emit('error', error);
        };
        void this.faults.enter(name).then((failure) => {
          if (call.cancelled) return;
          if (failure) return fail(failure.status, failure.message);
          if (call.metadata.get('macaroon')[0] !== this.macaroonHex) {
            return fail(
              grpc.status.UNKNOWN,
              'verification failed: signature mismatch after caveat verification',
            );
          }
          try {
            (handler as (c: unknown, cb?: Callback) => void).call(this, call, cb);
          } catch (error) {
            fail(grpc.status.UNKNOWN, (error as Error).message);
          }
        });
      };
    }
    return wrapped;
  }

  // ---- controls ----

  /** Settles an invoice as if a payer paid it; subscribers see the update. */
  settle(paymentHash: string): FakeInvoice {
    const invoice = this.invoices.get(paymentHash);
    if (!invoice) throw new Error('no such invoice');
    invoice.state = 'SETTLED';
    invoice.settleIndex = ++this.#settleIndex;
    invoice.settledAt = Math.floor(Date.now() / 1000);
    for (const s of this.#subscribers) s.write(this.#invoiceJson(invoice));
    return invoice;
  }

  /** Ends the invoice streams as a restarting lnd would. */
  dropSubscribers(): void {
    for (const s of this.#subscribers)
      s.emit('error', { code: grpc.status.UNAVAILABLE, details: 'lnd is shutting down' });
    this.#subscribers.clear();
  }

  /** A BOLT11 invoice from some other node, for the client to pay. */
  foreignInvoice(
    amountMsat: bigint,
    preimage = randomBytes(32),
  ): { request: string; hash: string; preimage: string } {
    const key = secp256k1.utils.randomSecretKey();
    const hash = createHash('sha256').update(preimage).digest('hex');
    this.#foreignPreimages.set(hash, preimage.toString('hex'));
    return {
      request: this.#encode(key, hash, amountMsat, 'foreign', 3600),
      hash,
      preimage: preimage.toString('hex'),
    };
  }

  finishPayment(hash: string, outcome: 'succeed' | 'no_route'): void {
    const p = this.payments.get(hash);
    if (!p) throw new Error('no such payment');
    this.#finish(p, outcome);
  }

  #encode(key: Uint8Array, hash: string, amountMsat: bigint, memo: string, expiry: number): string {
    const encoded = bolt11.encode({
      network: REGTEST,
      millisatoshis: amountMsat.toString(),
      timestamp: Math.floor(Date.now() / 1000),
      tags: [
        { tagName: 'payment_hash', data: hash },
        { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
        { tagName: 'description', data: memo },
        { tagName: 'expire_time', data: expiry },
        { tagName: 'min_final_cltv_expiry', data: 18 },
        {
          tagName: 'feature_bits',
          data: {
            word_length: 4,
            var_onion_optin: { required: false, supported: true },
            payment_secret: { required: true, supported: true },
          },
        },
      ],
    } as unknown as bolt11.PaymentRequestObject);
    return bolt11.sign(encoded, Buffer.from(key)).paymentRequest!;
  }

  // ---- lnrpc.Lightning ----

  #getInfo(_call: Call, cb: Callback): void {
    cb(null, {
      version: '0.19.0-beta.fake commit=fake',
      commit_hash: 'fake',
      identity_pubkey: this.nodePubkey,
      alias: 'lnd-fake',
      color: '#3399ff',
      num_pending_channels: 0,
      num_active_channels: 2,
      num_inactive_channels: 0,
      num_peers: 3,
      block_height: 150,
      block_hash: '00'.repeat(32),
      best_header_timestamp: String(Math.floor(Date.now() / 1000)),
      synced_to_chain: true,
      synced_to_graph: true,
      testnet: false,
      chains: [{ chain: 'bitcoin', network: 'regtest' }],
      uris: [],
      features: {},
    });
  }

  #invoiceJson(i: FakeInvoice) {
    return {
      memo: i.memo,
      r_preimage: i.preimage,
      r_hash: i.hash,
      value: (i.valueMsat / 1000n).toString(),
      value_msat: i.valueMsat.toString(),
      settled: i.state === 'SETTLED',
      creation_date: String(i.createdAt),
      settle_date: String(i.settledAt),
      payment_request: i.paymentRequest,
      description_hash: Buffer.alloc(0),
      expiry: String(i.expiry),
      fallback_addr: '',
      cltv_expiry: '18',
      route_hints: [],
      private: false,
      add_index: String(i.addIndex),
      settle_index: String(i.settleIndex),
      amt_paid: i.state === 'SETTLED' ? i.valueMsat.toString() : '0',
      amt_paid_sat: i.state === 'SETTLED' ? (i.valueMsat / 1000n).toString() : '0',
      amt_paid_msat: i.state === 'SETTLED' ? i.valueMsat.toString() : '0',
      state: i.state,
      htlcs: [],
      features: {},
      is_keysend: false,
      payment_addr: i.paymentAddr,
      is_amp: false,
    };
  }

  #addInvoice(call: Call, cb: Callback): void {
    const r = call.request;
    const preimage = (r.r_preimage as Buffer)?.length ? (r.r_preimage as Buffer) : randomBytes(32);
    const hash = createHash('sha256').update(preimage).digest();
    if (this.invoices.has(hash.toString('hex'))) {
      return cb({
        code: grpc.status.UNKNOWN,
        details: 'invoice with payment hash already exists',
      } as grpc.ServiceError);
    }
    const valueMsat = BigInt(String(r.value_msat || '0')) || BigInt(String(r.value || '0')) * 1000n;
    const expiry = Number(r.expiry || 86400);
    const invoice: FakeInvoice = {
      preimage,
      hash,
      valueMsat,
      memo: String(r.memo ?? ''),
      createdAt: Math.floor(Date.now() / 1000),
      expiry,
      addIndex: ++this.#addIndex,
      settleIndex: 0,
      state: 'OPEN',
      paymentRequest: this.#encode(
        this.nodeKey,
        hash.toString('hex'),
        valueMsat,
        String(r.memo ?? ''),
        expiry,
      ),
      paymentAddr: randomBytes(32),
      settledAt: 0,
    };
    this.invoices.set(hash.toString('hex'), invoice);
    for (const s of this.#subscribers) s.write(this.#invoiceJson(invoice));
    cb(null, {
      r_hash: hash,
      payment_request: invoice.paymentRequest,
      add_index: String(invoice.addIndex),
      payment_addr: invoice.paymentAddr,
    });
  }

  #lookupInvoice(call: Call, cb: Callback): void {
    const hash = (call.request.r_hash as Buffer)?.length
      ? (call.request.r_hash as Buffer).toString('hex')
      : String(call.request.r_hash_str ?? '');
    const invoice = this.invoices.get(hash);
    if (!invoice)
      return cb({
        code: grpc.status.NOT_FOUND,
        details: 'there are no existing invoices',
      } as grpc.ServiceError);
    cb(null, this.#invoiceJson(invoice));
  }

  #subscribeInvoices(call: Stream): void {
    const addIndex = Number(call.request.add_index || 0);
    const settleIndex = Number(call.request.settle_index || 0);
    const all = [...this.invoices.values()];
    // lnd's backlog: first invoices added after add_index, then those settled after settle_index.
    if (addIndex > 0)
      for (const i of all.filter((i) => i.addIndex > addIndex)) call.write(this.#invoiceJson(i));
    if (settleIndex > 0) {
      for (const i of all
        .filter((i) => i.settleIndex > settleIndex)
        .sort((a, b) => a.settleIndex - b.settleIndex)) {
        call.write(this.#invoiceJson(i));
      }
    }
    this.#subscribers.add(call);
    call.on('cancelled', () => this.#subscribers.delete(call));
  }

  #decodePayReq(call: Call, cb: Callback): void {
    let d: ReturnType<typeof bolt11.decode>;
    try {
      d = bolt11.decode(String(call.request.pay_req), REGTEST);
    } catch {
      return cb({
        code: grpc.status.UNKNOWN,
        details: 'invalid bech32 string length 7',
      } as grpc.ServiceError);
    }
    const tag = (name: string) => d.tags.find((t) => t.tagName === name)?.data;
    const msat = BigInt(d.millisatoshis ?? '0');
    cb(null, {
      destination: d.payeeNodeKey,
      payment_hash: String(tag('payment_hash')),
      num_satoshis: (msat / 1000n).toString(),
      timestamp: String(d.timestamp),
      expiry: String(tag('expire_time') ?? 3600),
      description: String(tag('description') ?? ''),
      description_hash: '',
      fallback_addr: '',
      cltv_expiry: String(tag('min_final_cltv_expiry') ?? 18),
      route_hints: [],
      payment_addr: Buffer.from(String(tag('payment_secret') ?? ''), 'hex'),
      num_msat: msat.toString(),
      features: {},
      blinded_paths: [],
    });
  }

  #walletBalance(_call: Call, cb: Callback): void {
    cb(null, {
      total_balance: '1500000',
      confirmed_balance: '1000000',
      unconfirmed_balance: '500000',
      locked_balance: '0',
      reserved_balance_anchor_chan: '0',
      account_balance: {},
    });
  }

  #channelBalance(_call: Call, cb: Callback): void {
    const amount = (sat: bigint) => ({ sat: sat.toString(), msat: (sat * 1000n).toString() });
    cb(null, {
      balance: '700000',
      pending_open_balance: '30000',
      local_balance: amount(700_000n),
      remote_balance: amount(300_000n),
      unsettled_local_balance: amount(0n),
      unsettled_remote_balance: amount(0n),
      pending_open_local_balance: amount(30_000n),
      pending_open_remote_balance: amount(0n),
    });
  }

  #route(amountMsat: bigint, destination: string) {
    return {
      total_time_lock: 200,
      total_fees: (this.feeMsat / 1000n).toString(),
      total_amt: ((amountMsat + this.feeMsat) / 1000n).toString(),
      hops: [
        {
          chan_id: '123456789012345678',
          chan_capacity: '1000000',
          amt_to_forward: (amountMsat / 1000n).toString(),
          fee: '0',
          expiry: 180,
          amt_to_forward_msat: amountMsat.toString(),
          fee_msat: '0',
          pub_key: destination,
          tlv_payload: true,
          custom_records: {},
          metadata: Buffer.alloc(0),
        },
      ],
      total_fees_msat: this.feeMsat.toString(),
      total_amt_msat: (amountMsat + this.feeMsat).toString(),
    };
  }

  #queryRoutes(call: Call, cb: Callback): void {
    const amountMsat =
      BigInt(String(call.request.amt_msat || '0')) || BigInt(String(call.request.amt || '0')) * 1000n;
    if (this.payOutcome === 'no_route') {
      return cb({
        code: grpc.status.UNKNOWN,
        details: 'unable to find a path to destination',
      } as grpc.ServiceError);
    }
    cb(null, { routes: [this.#route(amountMsat, String(call.request.pub_key))], success_prob: 0.9 });
  }

  // ---- routerrpc.Router ----

  #paymentJson(p: FakePayment) {
    const destination = '02' + '33'.repeat(32);
    const succeeded = p.status === 'SUCCEEDED';
    return {
      payment_hash: p.hash,
      value: (p.valueMsat / 1000n).toString(),
      creation_date: String(p.createdNs / 1_000_000_000n),
      fee: (p.feeMsat / 1000n).toString(),
      payment_preimage: succeeded ? p.preimage : '0'.repeat(64),
      value_sat: (p.valueMsat / 1000n).toString(),
      value_msat: p.valueMsat.toString(),
      payment_request: p.request,
      status: p.status,
      fee_sat: (p.feeMsat / 1000n).toString(),
      fee_msat: p.feeMsat.toString(),
      creation_time_ns: p.createdNs.toString(),
      htlcs: [
        {
          attempt_id: '1',
          status: succeeded ? 'SUCCEEDED' : p.status === 'FAILED' ? 'FAILED' : 'IN_FLIGHT',
          route: this.#route(p.valueMsat, destination),
          attempt_time_ns: p.createdNs.toString(),
          resolve_time_ns: succeeded ? (p.createdNs + 1_000_000n).toString() : '0',
          preimage: succeeded ? Buffer.from(p.preimage, 'hex') : Buffer.alloc(0),
        },
      ],
      payment_index: '1',
      failure_reason: p.failure,
    };
  }

  #finish(p: FakePayment, outcome: 'succeed' | 'no_route' | 'insufficient_balance'): void {
    if (outcome === 'succeed') p.status = 'SUCCEEDED';
    else {
      p.status = 'FAILED';
      p.failure = outcome === 'no_route' ? 'FAILURE_REASON_NO_ROUTE' : 'FAILURE_REASON_INSUFFICIENT_BALANCE';
      p.feeMsat = 0n;
    }
    for (const w of p.waiters.splice(0)) w(p);
  }

  #sendPaymentV2(call: Stream): void {
    const request = String(call.request.payment_request ?? '');
    let d: ReturnType<typeof bolt11.decode>;
    try {
      d = bolt11.decode(request, REGTEST);
    } catch {
      return void call.emit('error', {
        code: grpc.status.INVALID_ARGUMENT,
        details: 'invalid payment request',
      });
    }
    const hash = String(d.tags.find((t) => t.tagName === 'payment_hash')?.data);
    const existing = this.payments.get(hash);
    if (existing && existing.status !== 'FAILED') {
      const details =
        existing.status === 'SUCCEEDED' ? 'invoice is already paid' : 'payment is in transition';
      return void call.emit('error', { code: grpc.status.ALREADY_EXISTS, details });
    }
    const limit =
      BigInt(String(call.request.fee_limit_msat || '0')) ||
      BigInt(String(call.request.fee_limit_sat || '0')) * 1000n;
    const own = this.invoices.get(hash);
    const payment: FakePayment = {
      hash,
      preimage: own
        ? own.preimage.toString('hex')
        : (this.#foreignPreimages.get(hash) ?? randomBytes(32).toString('hex')),
      valueMsat: BigInt(d.millisatoshis ?? String(call.request.amt_msat ?? '0')),
      feeMsat: this.feeMsat,
      status: 'IN_FLIGHT',
      failure: 'FAILURE_REASON_NONE',
      createdNs: BigInt(Date.now()) * 1_000_000n,
      request,
      waiters: [],
    };
    this.payments.set(hash, payment);
    call.write(this.#paymentJson(payment));
    payment.waiters.push((p) => {
      call.write(this.#paymentJson(p));
      call.end();
    });
    if (this.payOutcome === 'hold') return;
    // The fee limit is absolute: a route costing more fails as no_route, as lnd does.
    const outcome = this.feeMsat > limit ? 'no_route' : this.payOutcome;
    setImmediate(() => this.#finish(payment, outcome));
  }

  #trackPaymentV2(call: Stream): void {
    const hash = (call.request.payment_hash as Buffer).toString('hex');
    const p = this.payments.get(hash);
    if (!p)
      return void call.emit('error', { code: grpc.status.NOT_FOUND, details: "payment isn't initiated" });
    call.write(this.#paymentJson(p));
    if (p.status !== 'IN_FLIGHT') return void call.end();
    p.waiters.push((done) => {
      if (call.cancelled) return;
      call.write(this.#paymentJson(done));
      call.end();
    });
  }

  // ---- walletrpc.WalletKit ----

  #estimateFee(call: Call, cb: Callback): void {
    const target = Number(call.request.conf_target);
    // 2500 sat/kw = 10 sat/vB for next block, halving further out (1250 → 5, 626 → 2.504 → 3).
    const satPerKw = target <= 1 ? 2500 : target <= 6 ? 1250 : 626;
    cb(null, { sat_per_kw: String(satPerKw), min_relay_fee_sat_per_kw: '253' });
  }
}
