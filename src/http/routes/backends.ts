// The daemons as an operator sees them: `GET /grpc/arkd|tapd|lnd` (live figures, mode, breaker
// state, last error), `POST|GET /grpc/reconnect/{service}` (admin key; GET because the operator
// guide uses it), and, only when Lightning is simulated, the simulator's controls under /sim.
import { Type } from 'typebox';
import type { Backends } from '../../backends/index.ts';
import { BACKEND_NAMES, type BackendName, type BackendStatus } from '../../backends/types.ts';
import { ADMIN_SECURITY, type AdminAccess, type AdminGuard } from '../admin-auth.ts';
import { HttpError } from '../errors.ts';
import type { RouteSet } from '../admin-scope.ts';
import type { HttpServer } from '../server.ts';

export interface BackendRoutesDeps {
  readonly backends: Backends;
  readonly admin: AdminAccess;
}

const Service = Type.Union(BACKEND_NAMES.map((n) => Type.Literal(n)));

const Breaker = Type.Object({
  state: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]),
  consecutive_failures: Type.Integer(),
  opened_at: Type.Optional(Type.String({ format: 'date-time' })),
  half_open_at: Type.Optional(Type.String({ format: 'date-time' })),
});

const LastError = Type.Object({
  message: Type.String(),
  kind: Type.String(),
  at: Type.String({ format: 'date-time' }),
});

const DaemonBody = Type.Object({
  service: Type.String(),
  mode: Type.Union([Type.Literal('sim'), Type.Literal('real')]),
  address: Type.String(),
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  error: Type.Optional(Type.String()),
  breaker: Breaker,
  last_error: Type.Union([LastError, Type.Null()]),
  last_success_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /** Live figures read from the daemon (amounts as decimal strings). */
  figures: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** JSON-safe: bigints become decimal strings (money is never a float on the wire). */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), plain(v)]));
  }
  return value;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function describeStatus(status: BackendStatus) {
  const { breaker } = status;
  return {
    service: status.name,
    mode: status.mode,
    address: status.address,
    breaker: {
      state: breaker.state,
      consecutive_failures: breaker.consecutiveFailures,
      ...(breaker.openedAtMs !== undefined ? { opened_at: iso(breaker.openedAtMs) } : {}),
      ...(breaker.halfOpenAtMs !== undefined ? { half_open_at: iso(breaker.halfOpenAtMs) } : {}),
    },
    last_error: status.lastError
      ? { message: status.lastError.message, kind: status.lastError.kind, at: iso(status.lastError.atMs)! }
      : null,
    last_success_at: iso(status.lastSuccessAtMs) ?? null,
  };
}

async function figures(backends: Backends, service: BackendName): Promise<Record<string, unknown>> {
  if (service === 'arkd') {
    // arkd itself answers getInfo; the chain tip and latest commitment are extras a real arkd
    // may not offer (no query for them), so their absence is shown, not turned into a 503.
    const info = await backends.ark.getInfo();
    const [tip, anchor] = await Promise.allSettled([
      backends.ark.getChainTip(),
      backends.ark.getCommitmentAnchor(),
    ]);
    return plain({
      info,
      chainTip: tip.status === 'fulfilled' ? tip.value : null,
      latestCommitment: anchor.status === 'fulfilled' ? (anchor.value ?? null) : null,
    }) as Record<string, unknown>;
  }
  if (service === 'tapd') {
    const [info, assets, balances] = await Promise.all([
      backends.assets.getInfo(),
      backends.assets.listAssets(),
      backends.assets.listBalances(),
    ]);
    const held = new Map(balances.map((b) => [b.assetId, b.balance]));
    return plain({
      info,
      assets: assets.map((a) => ({ ...a, balance: held.get(a.assetId) ?? 0n })),
    }) as Record<string, unknown>;
  }
  const [info, balances] = await Promise.all([
    backends.lightning.getInfo(),
    backends.lightning.getBalances(),
  ]);
  return plain({ info, balances }) as Record<string, unknown>;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Sim controls: the admin key when one is set; without one, loopback callers only. */
function simGuard(admin: AdminAccess): AdminGuard {
  if (admin.configured) return admin.guard;
  return async (request) => {
    if (!LOOPBACK.has(request.ip)) {
      throw new HttpError(
        'forbidden',
        'simulator controls answer loopback callers only unless ADMIN_API_KEY is set',
      );
    }
  };
}

export function backendRoutes(deps: BackendRoutesDeps): RouteSet {
  const { backends } = deps;
  const admin = async (app: HttpServer) => {
    app.route({
      method: ['POST', 'GET'],
      url: '/grpc/reconnect/:service',
      schema: {
        summary:
          'Drop and rebuild the connection to one daemon (admin key; GET accepted for the operator guide)',
        tags: ['daemons'],
        security: ADMIN_SECURITY,
        params: Type.Object({ service: Service }),
        response: { 200: DaemonBody, 503: DaemonBody },
      },
      handler: async (request, reply) => {
        const backend = backends.get(request.params.service);
        try {
          await backend.reconnect();
          return { ...describeStatus(backend.status()), status: 'up' as const };
        } catch (error) {
          request.log.warn({ service: backend.name, err: message(error) }, 'reconnect failed');
          return reply
            .status(503)
            .send({ ...describeStatus(backend.status()), status: 'down', error: message(error) });
        }
      },
    });
  };
  const open = async (app: HttpServer) => {
    app.get(
      '/grpc/:service',
      {
        schema: {
          summary: 'One daemon: mode, live figures, circuit breaker state and last error (503 when down)',
          tags: ['daemons'],
          params: Type.Object({ service: Service }),
          response: { 200: DaemonBody, 503: DaemonBody },
        },
      },
      async (request, reply) => {
        const service = request.params.service;
        try {
          const body = { ...describeStatus(backends.get(service).status()), status: 'up' as const };
          const live = await figures(backends, service);
          // Read the status again: the calls above may have changed it.
          return { ...body, ...describeStatus(backends.get(service).status()), figures: live };
        } catch (error) {
          return reply.status(503).send({
            ...describeStatus(backends.get(service).status()),
            status: 'down',
            error: message(error),
          });
        }
      },
    );

    const sim = backends.sim;
    const lightning = sim?.lightning;
    if (!sim || !lightning) return;
    const simPre = simGuard(deps.admin);
    const simSchema = (summary: string) => ({ summary, tags: ['simulator'], security: ADMIN_SECURITY });

    app.post(
      '/sim/lightning/pay',
      {
        schema: {
          ...simSchema('Simulator only: an external payer pays one of our invoices (BOLT11 or payment hash)'),
          body: Type.Object(
            { invoice: Type.String({ minLength: 1, maxLength: 4096 }) },
            { additionalProperties: false },
          ),
        },
        onRequest: simPre,
      },
      async (request) => plain(await lightning.payInvoice(request.body.invoice)),
    );
    app.post(
      '/sim/lightning/cancel',
      {
        schema: {
          ...simSchema('Simulator only: cancel one of our open invoices'),
          body: Type.Object(
            { payment_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }) },
            { additionalProperties: false },
          ),
        },
        onRequest: simPre,
      },
      async (request) => plain(await lightning.cancelInvoice(request.body.payment_hash)),
    );
    app.get(
      '/sim/lightning/behaviour',
      { schema: simSchema('Simulator only: how outgoing payments end'), onRequest: simPre },
      async () => plain(lightning.paymentBehaviour()),
    );
    app.post(
      '/sim/lightning/behaviour',
      {
        schema: {
          ...simSchema('Simulator only: set how outgoing payments end (outcome, delay, failure reason, fee)'),
          body: Type.Object(
            {
              outcome: Type.Optional(
                Type.Union([Type.Literal('succeed'), Type.Literal('fail'), Type.Literal('hold')]),
              ),
              delay_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
              failure_reason: Type.Optional(
                Type.Union(
                  [
                    'timeout',
                    'no_route',
                    'error',
                    'incorrect_payment_details',
                    'insufficient_balance',
                    'canceled',
                  ].map((r) => Type.Literal(r)),
                ),
              ),
              fee_msat: Type.Optional(Type.String({ pattern: '^\\d{1,15}$' })),
            },
            { additionalProperties: false },
          ),
        },
        onRequest: simPre,
      },
      async (request) => {
        const b = request.body;
        const next = lightning.setPaymentBehaviour({
          ...(b.outcome ? { outcome: b.outcome } : {}),
          ...(b.delay_ms !== undefined ? { delayMs: b.delay_ms } : {}),
          ...(b.failure_reason ? { failureReason: b.failure_reason as never } : {}),
          ...(b.fee_msat !== undefined ? { feeMsat: BigInt(b.fee_msat) } : {}),
        });
        return plain(next);
      },
    );
    app.post(
      '/sim/lightning/external-invoice',
      {
        schema: {
          ...simSchema('Simulator only: an invoice of the simulated external node, for a land to pay'),
          body: Type.Object(
            {
              amount_msat: Type.String({ pattern: '^[1-9]\\d{0,15}$' }),
              memo: Type.Optional(Type.String({ maxLength: 639 })),
              expiry_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000 })),
            },
            { additionalProperties: false },
          ),
        },
        onRequest: simPre,
      },
      async (request) => {
        const { amount_msat, memo, expiry_seconds } = request.body;
        const invoice = await lightning.createExternalInvoice({
          amountMsat: BigInt(amount_msat),
          ...(memo !== undefined ? { memo } : {}),
          ...(expiry_seconds !== undefined ? { expirySeconds: expiry_seconds } : {}),
        });
        return plain(invoice);
      },
    );
    app.post(
      '/sim/chain/mine',
      {
        schema: {
          ...simSchema('Simulator only: mine blocks in the simulated chain'),
          body: Type.Object(
            { blocks: Type.Integer({ minimum: 1, maximum: 10_000 }) },
            { additionalProperties: false },
          ),
        },
        onRequest: simPre,
      },
      async (request) => ({ height: await sim.mineBlocks(request.body.blocks) }),
    );
  };
  return { open, admin };
}
