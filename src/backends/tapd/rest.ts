// A small JSON-over-HTTPS transport for tapd's REST gateway: TLS pinned to the daemon's own
// certificate, the macaroon in the Grpc-Metadata-macaroon header, and failures classified
// from the HTTP status and the grpc-gateway error body ({ code, message }).
import { Agent, request } from 'node:https';
import { classifyTransportError, type Classified } from '../resilience/errors.ts';

/** The parts of a grpc-gateway error the classifier needs. */
export class TapdHttpError extends Error {
  readonly status: number;
  readonly grpcCode: number | undefined;
  constructor(status: number, grpcCode: number | undefined, message: string) {
    super(message);
    this.name = 'TapdHttpError';
    this.status = status;
    this.grpcCode = grpcCode;
  }
}

/** A tapd reply that did not have the expected shape. */
export class TapdReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TapdReplyError';
  }
}

export interface TapdTransportOptions {
  /** host:port */
  readonly host: string;
  /** PEM; undefined: the system's trusted CAs. */
  readonly ca: string | undefined;
  /** Hex; undefined: no macaroon header (tapd run with --no-macaroons). */
  readonly macaroonHex: string | undefined;
}

export class TapdTransport {
  readonly #options: TapdTransportOptions;
  #agent: Agent;

  constructor(options: TapdTransportOptions) {
    this.#options = options;
    this.#agent = this.#newAgent();
  }

  #newAgent(): Agent {
    return new Agent({
      keepAlive: true,
      maxSockets: 16,
      ...(this.#options.ca ? { ca: this.#options.ca } : {}),
    });
  }

  /** Drops every open connection; the next request opens a new one. */
  rebuild(): void {
    this.#agent.destroy();
    this.#agent = this.#newAgent();
  }

  close(): void {
    this.#agent.destroy();
  }

  /**
   * One request; resolves with the parsed JSON body. Streaming replies (newline-delimited
   * `{"result": …}` objects) resolve with the list of results when `stream` is set.
   */
  call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
    stream = false,
  ): Promise<unknown> {
    const [hostname, port] = splitHost(this.#options.host);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#options.macaroonHex) headers['Grpc-Metadata-macaroon'] = this.#options.macaroonHex;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = request(
        { hostname, port, path, method, headers, agent: this.#agent, signal, servername: sni(hostname) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            try {
              if (status < 200 || status >= 300) return reject(httpError(status, text));
              if (stream) return resolve(parseStream(text));
              resolve(text ? JSON.parse(text) : {});
            } catch {
              reject(new TapdReplyError(`unreadable reply (HTTP ${status})`));
            }
          });
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

function splitHost(host: string): [string, number] {
  const at = host.lastIndexOf(':');
  return [host.slice(0, at).replace(/^\[|\]$/g, ''), Number(host.slice(at + 1))];
}

/** SNI must be a name, not an IP address. */
function sni(hostname: string): string | undefined {
  return /^[\d.]+$|:/.test(hostname) ? undefined : hostname;
}

function httpError(status: number, text: string): TapdHttpError {
  let code: number | undefined;
  let message = `HTTP ${status}`;
  try {
    const body = JSON.parse(text) as {
      code?: unknown;
      message?: unknown;
      error?: { code?: unknown; message?: unknown };
    };
    const inner = body.error ?? body;
    if (typeof inner.code === 'number') code = inner.code;
    if (typeof inner.message === 'string' && inner.message) message = inner.message;
  } catch {
    // not JSON: keep the status line only (an HTML error page says nothing useful)
  }
  return new TapdHttpError(status, code, message.slice(0, 300));
}

function parseStream(text: string): unknown[] {
  const results: unknown[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const item = JSON.parse(line) as { result?: unknown; error?: { code?: number; message?: string } };
    if (item.error) throw new TapdHttpError(500, item.error.code, item.error.message ?? 'stream error');
    results.push(item.result ?? item);
  }
  return results;
}

// gRPC status codes as grpc-gateway reports them in the error body.
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE = 4;
const GRPC_NOT_FOUND = 5;
const GRPC_RESOURCE_EXHAUSTED = 8;

export function classifyTapd(error: unknown): Classified {
  if (error instanceof TapdHttpError) {
    const daemonCode =
      error.grpcCode === undefined ? `HTTP ${error.status}` : `HTTP ${error.status}/grpc ${error.grpcCode}`;
    const base = { message: error.message, daemonCode };
    if (error.grpcCode === GRPC_UNAVAILABLE || error.status === 502 || error.status === 503) {
      return { kind: 'unavailable', ...base };
    }
    if (error.grpcCode === GRPC_RESOURCE_EXHAUSTED || error.status === 429)
      return { kind: 'unavailable', ...base };
    if (error.grpcCode === GRPC_DEADLINE || error.status === 504) return { kind: 'timeout', ...base };
    if (error.grpcCode === GRPC_NOT_FOUND) return { kind: 'not_found', ...base };
    return { kind: 'rejected', ...base };
  }
  if (error instanceof TapdReplyError) return { kind: 'internal', message: error.message };
  const transport = classifyTransportError(error);
  if (transport) return transport;
  if ((error as Error)?.name === 'AbortError') return { kind: 'timeout', message: 'aborted' };
  return { kind: 'internal', message: error instanceof Error ? error.message : 'unknown failure' };
}
