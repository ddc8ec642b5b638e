// Finding the gateway and its relays, and the HTTP calls the CLI makes to it: only reads
// (`GET /nostr/status`, `GET /grpc/lnd`) and, in simulator mode, the simulator's pay control —
// every state change of the wallet itself goes over Nostr.
import { toHexPubkey } from '../wallet/index.ts';
import { CliError, EXIT, usage } from './errors.ts';

export const DEFAULT_HTTP = 'http://127.0.0.1:8000';
export const DEFAULT_RELAY = 'ws://127.0.0.1:7000';

export interface TargetOptions {
  readonly gateway?: string;
  readonly http?: string;
  readonly relays: readonly string[];
  readonly adminKey?: string;
}

export interface Target {
  readonly gatewayPubkey: string;
  readonly relays: string[];
  /** The gateway's HTTP address, when given or used for discovery. */
  readonly http: string | undefined;
  readonly adminKey: string | undefined;
}

interface NostrStatus {
  readonly pubkey: string;
  readonly embedded_relay: string | null;
  readonly relays: readonly { url: string }[];
}

function baseUrl(http: string): string {
  try {
    return new URL(http).toString().replace(/\/$/, '');
  } catch {
    throw usage(`--http: not a URL: ${http}`);
  }
}

async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new CliError(`cannot reach ${url}: ${(error as Error).message}`, { exitCode: EXIT.UNREACHABLE });
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: response.status, body };
}

function httpError(what: string, status: number, body: unknown): CliError {
  const error = (body as { error?: { code?: string; message?: string } })?.error;
  return new CliError(`${what}: HTTP ${status}${error ? ` ${error.code}: ${error.message}` : ''}`);
}

/** The gateway key and relays: as given, or read from `GET <http>/nostr/status`. */
export async function resolveTarget(options: TargetOptions): Promise<Target> {
  const relays = [...new Set(options.relays)];
  let gateway = options.gateway;
  const http = options.http !== undefined ? baseUrl(options.http) : undefined;
  if (gateway === undefined || relays.length === 0) {
    const from = http ?? DEFAULT_HTTP;
    let status: NostrStatus;
    try {
      const answer = await getJson(`${from}/nostr/status`);
      if (answer.status !== 200) throw httpError('GET /nostr/status', answer.status, answer.body);
      status = answer.body as NostrStatus;
    } catch (error) {
      if (gateway !== undefined) {
        relays.push(DEFAULT_RELAY);
        return { gatewayPubkey: toHexPubkey(gateway), relays, http, adminKey: options.adminKey };
      }
      throw new CliError(
        `no gateway given and none found at ${from} (${(error as Error).message}); pass --gateway <npub> --relay <url>, or --http <url> of the gateway`,
        { exitCode: EXIT.UNREACHABLE },
      );
    }
    gateway ??= status.pubkey;
    if (relays.length === 0) {
      if (status.embedded_relay) relays.push(status.embedded_relay);
      else relays.push(...status.relays.map((r) => r.url));
    }
    if (relays.length === 0) relays.push(DEFAULT_RELAY);
    return { gatewayPubkey: parseGateway(gateway), relays, http: from, adminKey: options.adminKey };
  }
  return { gatewayPubkey: parseGateway(gateway), relays, http, adminKey: options.adminKey };
}

function parseGateway(value: string): string {
  try {
    return toHexPubkey(value);
  } catch {
    throw usage(`--gateway: ${value} is not a public key (64 hex characters or an npub)`);
  }
}

/**
 * Pays one of the gateway's invoices as an external payer would — only when its Lightning node is
 * the simulator (`GET /grpc/lnd` says `mode: sim`); a real lnd is paid from a real wallet.
 */
export async function assertSimulator(target: Target): Promise<string> {
  if (!target.http) {
    throw usage('--pay needs the gateway HTTP address: pass --http <url> (e.g. http://127.0.0.1:8000)');
  }
  const lnd = await getJson(`${target.http}/grpc/lnd`);
  const mode = (lnd.body as { mode?: unknown })?.mode;
  if (mode !== 'sim') {
    throw usage(
      `--pay works only when the gateway's Lightning node is simulated (it is ${typeof mode === 'string' ? mode : 'unknown'}); pay the invoice from a Lightning wallet`,
    );
  }
  return target.http;
}

/** Pays `invoice` through the simulator's control (call assertSimulator first). */
export async function simPay(target: Target, invoice: string): Promise<void> {
  const http = await assertSimulator(target);
  const paid = await getJson(`${http}/sim/lightning/pay`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(target.adminKey ? { 'x-admin-key': target.adminKey } : {}),
    },
    body: JSON.stringify({ invoice }),
  });
  if (paid.status !== 200) throw httpError('simulator pay', paid.status, paid.body);
}
