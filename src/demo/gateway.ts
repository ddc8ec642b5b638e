// The demo's gateway: the real one, started in this process on the embedded default (SQLite,
// in-process queue, embedded relay, simulated daemons) in a fresh temporary DATA_DIR — never the
// user's ./data, and never the user's environment (DATABASE_URL etc. are not read).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startGateway, type Gateway } from '../app.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logging.ts';

export interface DemoGateway {
  readonly gateway: Gateway;
  readonly http: string;
  readonly relay: string;
  readonly pubkey: string;
  readonly adminKey: string;
  readonly dataDir: string;
  /** The gateway's warnings and errors (printed when a step fails). */
  readonly logs: () => string;
  stop(keepData: boolean): Promise<void>;
}

export async function startDemoGateway(): Promise<DemoGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'arkrelay-demo-'));
  const adminKey = randomBytes(24).toString('hex');
  let logs = '';
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      logs += chunk.toString();
      done();
    },
  });
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_DIR: join(dataDir, 'logs'),
    HOST: '127.0.0.1',
    PORT: '0',
    EMBEDDED_RELAY_PORT: '0',
    // Next to a gateway already running on this machine: a free port for the exporter too.
    METRICS_PORT: '0',
    ADMIN_API_KEY: adminKey,
    LOG_LEVEL: 'warn',
    // A small inventory is plenty for a handful of payments and fills in about a second.
    VTXO_INVENTORY_CRITICAL: '20',
    VTXO_INVENTORY_WARNING: '40',
    VTXO_INVENTORY_TARGET: '100',
  });
  const gateway = await startGateway(config, {
    roles: ['api', 'worker', 'scheduler'],
    logger: createLogger({ level: 'warn', stdout: sink, logDir: config.logDir }),
  });
  const relay = gateway.nostr?.embeddedRelayUrl;
  if (!gateway.httpUrl || !relay || !gateway.nostr)
    throw new Error('the gateway started without HTTP or its relay');
  return {
    gateway,
    http: gateway.httpUrl,
    relay,
    pubkey: gateway.nostr.core.keys.active.pubkey,
    adminKey,
    dataDir,
    logs: () => logs,
    stop: async (keepData) => {
      await gateway.stop('demo finished');
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
