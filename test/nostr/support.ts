// Test support for the Nostr suites: gateways on the stack under test (SQLite + in-process
// queue, or MariaDB + BullMQ when DATABASE_URL / REDIS_URL are set), local relays (the embedded
// relay implementation on ephemeral ports), and an independent client written with plain
// nostr-tools only — what a wallet would write.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Relay } from 'nostr-tools/relay';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import * as nip04 from 'nostr-tools/nip04';
import * as nip44 from 'nostr-tools/nip44';
import type { Event } from 'nostr-tools';
import { startGateway, type Gateway, type Role } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/logging.ts';
import { EmbeddedRelay } from '../../src/nostr/embedded-relay.ts';
import { tempDir } from '../support/cli.ts';
import { SIMULATED_DAEMONS, simulatedProduction } from '../support/production-env.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

export const redisAvailable = Boolean(process.env.REDIS_URL);
export const stackName = `${mariadbAvailable ? 'mariadb' : 'sqlite'}+${redisAvailable ? 'bullmq' : 'in-process'}`;

/** Everything the processes of a test log, to check that no secret ever reaches it. */
export class LogCapture {
  text = '';
  readonly logger: Logger;
  constructor(level = 'debug') {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.text += chunk.toString();
        done();
      },
    });
    this.logger = createLogger({ level, stdout: sink });
  }
}

/** A shared database for one or more gateways of a test: its environment and how to drop it. */
export interface SharedStack {
  readonly env: Record<string, string>;
  readonly dataDir: string;
  drop(): Promise<void>;
}

export async function createStack(): Promise<SharedStack> {
  const dataDir = tempDir('arkrelay-nostr-');
  // Many gateways run at once: each exporter takes a free port (ENABLE_METRICS is on by default).
  const env: Record<string, string> = { DATA_DIR: dataDir, METRICS_PORT: '0' };
  let test: TestDatabase | undefined;
  if (mariadbAvailable) {
    test = await createTestDatabase('mariadb', silentLogger);
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${test.config.kind === 'mariadb' ? test.config.database : ''}`;
    env.DATABASE_URL = url.toString();
    env.SECRET_KEY = process.env.SECRET_KEY ?? 'test-secret-key-'.padEnd(40, 'x');
    Object.assign(env, SIMULATED_DAEMONS);
  }
  if (redisAvailable) {
    env.REDIS_URL = process.env.REDIS_URL!;
    env.QUEUE_PREFIX = `nostr-t-${randomBytes(4).toString('hex')}`;
  }
  return { env, dataDir, drop: async () => test?.drop() };
}

export interface TestGatewayOptions {
  readonly stack: SharedStack;
  readonly relays?: readonly string[];
  readonly env?: Record<string, string>;
  readonly roles?: readonly Role[];
  readonly logger?: Logger;
}

export function gatewayConfig(options: TestGatewayOptions): Config {
  return loadConfig(
    simulatedProduction({
      PORT: '0',
      HOST: '127.0.0.1',
      EMBEDDED_RELAY_PORT: '0',
      LOG_LEVEL: 'silent',
      // Tests create the inventory they need; the monitor's 10 000 VTXOs would only slow them.
      VTXO_AUTO_START: 'false',
      INSTANCE_ID: `gw-${randomBytes(3).toString('hex')}`,
      ...options.stack.env,
      ...(options.relays ? { NOSTR_RELAYS: options.relays.join(',') } : {}),
      ...options.env,
    }),
  );
}

export async function startTestGateway(options: TestGatewayOptions): Promise<Gateway> {
  const config = gatewayConfig(options);
  // With Redis, 'api' alone runs no jobs: give the same process the worker role.
  const roles = options.roles ?? (['api', 'worker'] as Role[]);
  return startGateway(config, { roles, logger: options.logger ?? createLogger({ level: 'silent' }) });
}

export async function startRelay(
  dir = tempDir('arkrelay-relay-'),
  options: { auth?: string } = {},
): Promise<EmbeddedRelay> {
  const relay = new EmbeddedRelay({
    file: join(dir, 'relay.sqlite'),
    port: 0,
    logger: createLogger({ level: 'silent' }),
    ...(options.auth ? { requireAuthHostname: options.auth } : {}),
  });
  await relay.start();
  return relay;
}

export async function waitReady(gateway: Gateway, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    () => gateway.readiness.state().ready,
    timeoutMs,
    'the gateway to be ready (intake subscribed)',
  );
}

// --- the independent client: nostr-tools only --------------------------------------------------

export type Scheme = 'nip44' | 'nip04';

export interface Reply {
  readonly event: Event;
  readonly body: Record<string, unknown>;
  readonly scheme: Scheme;
}

export class Wallet {
  readonly secret = generateSecretKey();
  readonly pubkey = getPublicKey(this.secret);

  encrypt(to: string, plaintext: string, scheme: Scheme): string {
    return scheme === 'nip44'
      ? nip44.encrypt(plaintext, nip44.getConversationKey(this.secret, to))
      : nip04.encrypt(this.secret, to, plaintext);
  }

  decrypt(from: string, content: string): { plaintext: string; scheme: Scheme } {
    if (content.includes('?iv='))
      return { plaintext: nip04.decrypt(this.secret, from, content), scheme: 'nip04' };
    return {
      plaintext: nip44.decrypt(content, nip44.getConversationKey(this.secret, from)),
      scheme: 'nip44',
    };
  }

  /** A signed 31500 service request to `gateway`. */
  serviceRequest(
    gateway: string,
    action: string,
    params: Record<string, unknown> = {},
    options: { scheme?: Scheme; requestId?: string; tags?: string[][]; content?: string } = {},
  ): Event {
    const requestId = options.requestId ?? `req-${randomBytes(6).toString('hex')}`;
    const content =
      options.content ??
      this.encrypt(
        gateway,
        JSON.stringify({ request_id: requestId, action, params }),
        options.scheme ?? 'nip44',
      );
    return finalizeEvent(
      {
        kind: 31500,
        created_at: Math.floor(Date.now() / 1000),
        tags: options.tags ?? [
          ['p', gateway],
          ['d', requestId],
        ],
        content,
      },
      this.secret,
    );
  }

  async publish(url: string, event: Event): Promise<void> {
    const relay = await Relay.connect(url);
    try {
      await relay.publish(event);
    } finally {
      relay.close();
    }
  }

  /** Every reply (31501 / 31341) the relay holds for `requestId` (event id), decrypted. */
  async replies(url: string, requestEventId: string, kinds = [31501, 31341]): Promise<Reply[]> {
    const relay = await Relay.connect(url);
    try {
      const events = await new Promise<Event[]>((resolve) => {
        const found: Event[] = [];
        const sub = relay.subscribe([{ kinds, '#e': [requestEventId], '#p': [this.pubkey] }], {
          onevent: (event) => found.push(event),
          oneose: () => {
            sub.close();
            resolve(found);
          },
        });
      });
      return events.map((event) => {
        const { plaintext, scheme } = this.decrypt(event.pubkey, event.content);
        return { event, body: JSON.parse(plaintext) as Record<string, unknown>, scheme };
      });
    } finally {
      relay.close();
    }
  }

  async waitReply(url: string, requestEventId: string, timeoutMs = 15_000): Promise<Reply> {
    const replies = await waitFor(
      async () => {
        const found = await this.replies(url, requestEventId);
        return found.length > 0 ? found : undefined;
      },
      timeoutMs,
      `a reply to ${requestEventId.slice(0, 8)} on ${url}`,
    );
    return replies[0]!;
  }
}
