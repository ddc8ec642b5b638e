// The embedded relay: a real NIP-01 relay (@nostr-relay/core) on `ws`, on loopback, storing
// events in DATA_DIR/relay.sqlite. It runs when NOSTR_RELAYS is unset; the gateway connects to
// it like to any other relay, and wallets and demos on the same machine use it too.
import type { IncomingMessage as HttpRequest } from 'node:http';
import { createRequire } from 'node:module';
import * as ecc from 'tiny-secp256k1';
import { LogLevel, type Event, type IncomingMessage, type Logger as RelayLogger } from '@nostr-relay/common';
import { NostrRelay } from '@nostr-relay/core';
import { WebSocketServer, type WebSocket } from 'ws';
import { isEventShape } from '../domain/nostr-protocol.ts';
import type { Logger } from '../logging.ts';
import { SqliteEventRepository } from './relay-store.ts';

export interface EmbeddedRelayOptions {
  readonly file: string;
  readonly port: number;
  readonly host?: string;
  readonly logger: Logger;
  /** Turns NIP-42 on: clients get an AUTH challenge (tests check the supervisor answers it). */
  readonly requireAuthHostname?: string;
  /** Largest message accepted, in bytes. */
  readonly maxPayload?: number;
}

const SUBSCRIPTION_ID = /^.{1,64}$/s;

/**
 * The relay library checks each event's BIP-340 signature with the pure-JS curve (about 2.4 ms
 * here); libsecp256k1 (WASM) gives the same answer in about 0.25 ms. The library reads its
 * verify function from its module at every call, so it is swapped there, once, for one with
 * the same inputs (hex strings) and outputs. If the library ever changes shape, nothing is
 * swapped and it keeps its own.
 */
function verifySignaturesWithLibsecp256k1(logger: Logger): void {
  try {
    const util = createRequire(import.meta.url)('@nostr-relay/common/dist/utils/crypto.util.js') as {
      schnorrVerify?: unknown;
    };
    if (typeof util.schnorrVerify !== 'function') return;
    const hexBytes = (text: unknown) =>
      typeof text === 'string' && /^[0-9a-f]*$/i.test(text) ? Buffer.from(text, 'hex') : undefined;
    util.schnorrVerify = (signature: unknown, message: unknown, publicKey: unknown): boolean => {
      const [sig, msg, key] = [hexBytes(signature), hexBytes(message), hexBytes(publicKey)];
      if (!sig || !msg || !key) return false;
      try {
        return ecc.verifySchnorr(msg, key, sig);
      } catch {
        return false;
      }
    };
  } catch (error) {
    logger.debug({ err: error }, 'embedded relay keeps its own signature check');
  }
}

function relayLogger(logger: Logger): RelayLogger {
  return {
    setLogLevel: () => undefined,
    debug: (message: string) => logger.debug(message),
    info: (message: string) => logger.debug(message),
    warn: (message: string) => logger.warn(message),
    error: (message: string) => logger.error(message),
  };
}

/** Checks a client message's shape before the relay core sees it (the core trusts its input). */
function parseMessage(raw: string): IncomingMessage | string {
  let message: unknown;
  try {
    message = JSON.parse(raw);
  } catch {
    return 'invalid: message is not JSON';
  }
  if (!Array.isArray(message) || typeof message[0] !== 'string') return 'invalid: message is not an array';
  const [type, first, ...rest] = message as [string, unknown, ...unknown[]];
  if (type === 'EVENT' || type === 'AUTH') {
    return isEventShape(first) ? ([type, first as Event] as IncomingMessage) : 'invalid: malformed event';
  }
  if (type === 'REQ') {
    if (typeof first !== 'string' || !SUBSCRIPTION_ID.test(first)) return 'invalid: subscription id';
    if (rest.length === 0 || !rest.every((f) => typeof f === 'object' && f !== null && !Array.isArray(f))) {
      return 'invalid: filters';
    }
    return ['REQ', first, ...rest] as IncomingMessage;
  }
  if (type === 'CLOSE') {
    return typeof first === 'string' ? (['CLOSE', first] as IncomingMessage) : 'invalid: subscription id';
  }
  return 'invalid: unknown message type';
}

export class EmbeddedRelay {
  readonly #options: EmbeddedRelayOptions;
  #server: WebSocketServer | undefined;
  #relay: NostrRelay | undefined;
  #repository: SqliteEventRepository | undefined;
  #port = 0;

  constructor(options: EmbeddedRelayOptions) {
    this.#options = options;
  }

  get url(): string {
    return `ws://${this.#options.host ?? '127.0.0.1'}:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  get clientCount(): number {
    return this.#server?.clients.size ?? 0;
  }

  /** The NIP-42 authenticated pubkeys of connected clients (tests). */
  authenticatedPubkeys(): string[] {
    const relay = this.#relay;
    const server = this.#server;
    if (!relay || !server) return [];
    return [...server.clients].flatMap((client) =>
      relay.isAuthorized(client)
        ? [
            (relay as unknown as { clientContexts: Map<unknown, { pubkey?: string }> }).clientContexts.get(
              client,
            )?.pubkey ?? '',
          ]
        : [],
    );
  }

  async start(): Promise<string> {
    if (this.#server) return this.url;
    const logger = this.#options.logger;
    const repository = new SqliteEventRepository(this.#options.file);
    verifySignaturesWithLibsecp256k1(this.#options.logger);
    const relay = new NostrRelay(repository, {
      logger: relayLogger(logger),
      logLevel: LogLevel.WARN,
      ...(this.#options.requireAuthHostname ? { hostname: this.#options.requireAuthHostname } : {}),
      // Our own result cache would hide a re-published event after a restart; keep it short.
      eventHandlingResultCacheTtl: 1000,
      maxSubscriptionsPerClient: 50,
    });
    const server = new WebSocketServer({
      host: this.#options.host ?? '127.0.0.1',
      // A restart takes the same port again, so clients find it where it was.
      port: this.#port || this.#options.port,
      maxPayload: this.#options.maxPayload ?? 1024 * 1024,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('error', (error) => logger.error({ err: error }, 'embedded relay server error'));
    server.on('connection', (socket: WebSocket, request: HttpRequest) => {
      relay.handleConnection(socket, request.socket.remoteAddress);
      socket.on('message', (data) => {
        const parsed = parseMessage(data.toString());
        if (typeof parsed === 'string') {
          socket.send(JSON.stringify(['NOTICE', parsed]));
          return;
        }
        relay.handleMessage(socket, parsed).catch((error: unknown) => {
          logger.warn({ err: error }, 'embedded relay: message failed');
        });
      });
      socket.on('close', () => relay.handleDisconnect(socket));
      socket.on('error', () => socket.terminate());
    });
    const address = server.address();
    this.#port = typeof address === 'object' && address ? address.port : this.#options.port;
    this.#server = server;
    this.#relay = relay;
    this.#repository = repository;
    logger.info({ url: this.url }, 'embedded relay listening');
    return this.url;
  }

  /** Drops every client at once (like a crash, as far as clients can tell) and closes storage. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.#relay?.destroy();
    await this.#repository?.destroy();
    this.#relay = undefined;
    this.#repository = undefined;
  }
}
