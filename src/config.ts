// Configuration, in one place: every environment variable ArkRelay reads, its default, how
// it is validated, and the typed Config the rest of the code receives. docs/configuration.md
// and .env.example are checked against VARIABLES by test/config-docs.test.ts.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { inspect } from 'node:util';
import { resolveDaemonAliases, unknownDaemonVariables, type AliasResolution } from './config-aliases.ts';

export type VariableKind = 'string' | 'integer' | 'boolean' | 'enum' | 'url' | 'list';

export interface VariableSpec {
  readonly name: string;
  readonly kind: VariableKind;
  /** Default as written in the environment; undefined means "unset unless given". */
  readonly default?: string;
  readonly secret?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  readonly group: string;
  readonly description: string;
}

// One line per variable, read as a table.
// prettier-ignore
export const VARIABLES = [
  // Process
  { name: 'PORT', kind: 'integer', default: '8000', min: 0, max: 65535, group: 'process', description: 'HTTP port of the API (0 picks a free port).' },
  { name: 'HOST', kind: 'string', default: '127.0.0.1', group: 'process', description: 'Address the HTTP API listens on. The default answers this machine only; behind a load balancer or for other hosts set 0.0.0.0 (every interface) or the address of one.' },
  { name: 'DATA_DIR', kind: 'string', default: './data', group: 'process', description: 'Directory for the embedded database, generated secrets and the embedded relay.' },
  { name: 'LOG_DIR', kind: 'string', default: './logs', group: 'process', description: 'Directory for arkrelay.log and arkrelay_errors.log.' },
  { name: 'LOG_LEVEL', kind: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], group: 'process', description: 'Minimum level written to stdout and the log files.' },
  { name: 'LOG_FILE_MAX_SIZE_MB', kind: 'integer', default: '50', min: 1, max: 10240, group: 'process', description: 'Size at which a log file is rotated.' },
  { name: 'LOG_FILE_MAX_FILES', kind: 'integer', default: '10', min: 1, max: 1000, group: 'process', description: 'Rotated log files kept per log.' },
  { name: 'INSTANCE_ID', kind: 'string', group: 'process', description: 'Name of this process in heartbeats and job logs (default: hostname-pid).' },
  { name: 'SHUTDOWN_DRAIN_MS', kind: 'integer', default: '5000', min: 0, max: 120000, group: 'process', description: 'On a graceful stop an API process answers /ready with 503 this long before it closes its listener, so load balancers stop sending first; 0 closes at once.' },
  { name: 'SHUTDOWN_TIMEOUT_MS', kind: 'integer', default: '15000', min: 100, max: 600000, group: 'process', description: 'How long a graceful shutdown waits for running work before giving up.' },

  // Storage
  { name: 'DATABASE_URL', kind: 'url', secret: true, group: 'storage', description: 'MariaDB/MySQL URL (mysql://user:pass@host:3306/db). Unset: embedded SQLite file under DATA_DIR.' },
  { name: 'DB_POOL_SIZE', kind: 'integer', default: '10', min: 1, max: 1000, group: 'storage', description: 'Connections kept open to MariaDB.' },
  { name: 'DB_MAX_OVERFLOW', kind: 'integer', default: '10', min: 0, max: 1000, group: 'storage', description: 'Extra connections opened under load beyond DB_POOL_SIZE.' },
  { name: 'DB_POOL_TIMEOUT_MS', kind: 'integer', default: '30000', min: 100, max: 600000, group: 'storage', description: 'How long a query waits for a free connection before failing.' },
  { name: 'DB_CONNECT_TIMEOUT_MS', kind: 'integer', default: '10000', min: 100, max: 600000, group: 'storage', description: 'How long opening one database connection may take.' },

  // Queue and cache
  { name: 'REDIS_URL', kind: 'url', secret: true, group: 'queue', description: 'Redis URL (redis://[:pass@]host:6379[/db]). Set: BullMQ queues, cache and pub/sub. Unset: in-process queue.' },
  { name: 'QUEUE_PREFIX', kind: 'string', default: 'arkrelay', group: 'queue', description: 'Prefix of every Redis key, so several gateways can share one Redis.' },
  { name: 'WORKER_CONCURRENCY', kind: 'integer', default: '8', min: 1, max: 1000, group: 'queue', description: 'Jobs one worker process runs at the same time, per queue.' },
  { name: 'JOB_ATTEMPTS', kind: 'integer', default: '5', min: 1, max: 100, group: 'queue', description: 'Default attempts of a job before it is marked failed.' },
  { name: 'JOB_BACKOFF_MS', kind: 'integer', default: '1000', min: 1, max: 3600000, group: 'queue', description: 'First retry delay of a failed job; doubles on each attempt.' },
  { name: 'HEARTBEAT_INTERVAL_MS', kind: 'integer', default: '30000', min: 100, max: 3600000, group: 'queue', description: 'How often the scheduler enqueues the heartbeat job.' },

  // Secrets and admin
  { name: 'SECRET_KEY', kind: 'string', secret: true, min: 32, group: 'security', description: 'Server secret (at least 32 characters). Required with DATABASE_URL; the embedded default generates one in DATA_DIR.' },
  { name: 'ADMIN_API_KEY', kind: 'string', secret: true, min: 32, group: 'security', description: 'Key for X-Admin-Key on /admin/* and operational endpoints (at least 32 characters). Unset: those endpoints are refused.' },
  { name: 'ADMIN_AUTH_MAX_FAILURES', kind: 'integer', default: '10', min: 1, max: 1000000, group: 'security', description: 'Wrong admin keys accepted per client address per minute; past it that address\'s further wrong keys get 429. The right key always passes.' },
  { name: 'ARK_INVENTORY_SECRET_KEY', kind: 'string', secret: true, group: 'security', description: 'Secret key (64 hex) that owns the gateway\'s inventory and fee VTXOs and signs its own Ark inputs. Unset: generated on first start and kept in the database, encrypted like the Nostr keys.' },

  // Daemons
  { name: 'ARKD_MODE', kind: 'enum', values: ['sim', 'real'], group: 'daemons', description: 'sim: the in-process Ark server simulator. real: arkd at ARKD_URL. Unset: real when ARKD_URL is set, else sim — but with DATABASE_URL a process refuses to start on a simulated arkd unless ARKD_MODE=sim is set.' },
  { name: 'TAPD_MODE', kind: 'enum', values: ['sim', 'real'], group: 'daemons', description: 'sim: the in-process Taproot Assets simulator. real: tapd at TAPD_HOST. Unset: real when TAPD_HOST is set, else sim — but with DATABASE_URL a process refuses to start on a simulated tapd unless TAPD_MODE=sim is set.' },
  { name: 'LND_MODE', kind: 'enum', values: ['sim', 'real'], group: 'daemons', description: 'sim: the in-process Lightning node simulator. real: lnd at LND_HOST. Unset: real when LND_HOST is set, else sim — but with DATABASE_URL a process refuses to start on a simulated lnd unless LND_MODE=sim is set.' },
  { name: 'SIM_SEED', kind: 'string', secret: true, group: 'daemons', description: 'Seed of the simulated daemons\' keys (any text). Unset: a random seed generated once and kept in DATA_DIR/sim.' },
  { name: 'ARKD_URL', kind: 'url', group: 'daemons', description: 'arkd REST address, e.g. http://127.0.0.1:7070 (https:// when arkd serves TLS with a certificate the system trusts). The guide\'s ARKD_HOST + ARKD_PORT give http://ARKD_HOST:ARKD_PORT.' },
  { name: 'ARKD_ESPLORA_URL', kind: 'url', group: 'daemons', description: 'Esplora REST API of the Bitcoin network arkd runs on (e.g. http://127.0.0.1:3000), for the chain tip, the confirmation height of commitment txs and the inventory wallet\'s boarding funds. Used only when arkd is real; unset, the chain tip and commitment heights are unavailable and inventory batches are refused.' },
  { name: 'ARKD_TIMEOUT_MS', kind: 'integer', default: '10000', min: 100, max: 600000, group: 'daemons', description: 'Timeout of one arkd call.' },
  { name: 'TAPD_HOST', kind: 'string', group: 'daemons', description: 'tapd REST address host:port, e.g. 127.0.0.1:8089; or the host alone with the guide\'s TAPD_PORT.' },
  { name: 'TAPD_TLS_CERT', kind: 'string', secret: true, group: 'daemons', description: 'tapd TLS certificate: a file path or base64 PEM.' },
  { name: 'TAPD_MACAROON', kind: 'string', secret: true, group: 'daemons', description: 'tapd macaroon: a file path or hex.' },
  { name: 'TAPD_TIMEOUT_MS', kind: 'integer', default: '10000', min: 100, max: 600000, group: 'daemons', description: 'Timeout of one tapd call.' },
  { name: 'LND_HOST', kind: 'string', group: 'daemons', description: 'lnd gRPC address host:port, e.g. 127.0.0.1:10009; or the host alone with the guide\'s LND_PORT.' },
  { name: 'LND_TLS_CERT', kind: 'string', secret: true, group: 'daemons', description: 'lnd TLS certificate: a file path or base64 PEM.' },
  { name: 'LND_MACAROON', kind: 'string', secret: true, group: 'daemons', description: 'lnd admin macaroon: a file path, hex or base64.' },
  { name: 'LND_TIMEOUT_MS', kind: 'integer', default: '10000', min: 100, max: 600000, group: 'daemons', description: 'Timeout of one lnd call.' },
  { name: 'DAEMON_RETRY_ATTEMPTS', kind: 'integer', default: '4', min: 1, max: 20, group: 'daemons', description: 'Attempts of one daemon call, the first included, for failures worth retrying (unreachable, unavailable, timed out; calls that may have taken effect are retried only if the daemon could not have seen them).' },
  { name: 'DAEMON_RETRY_BASE_MS', kind: 'integer', default: '1000', min: 1, max: 600000, group: 'daemons', description: 'First retry delay of a daemon call; doubles on each retry.' },
  { name: 'DAEMON_RETRY_MAX_MS', kind: 'integer', default: '30000', min: 1, max: 3600000, group: 'daemons', description: 'Largest retry delay of a daemon call.' },
  { name: 'DAEMON_BREAKER_FAILURES', kind: 'integer', default: '5', min: 1, max: 1000, group: 'daemons', description: 'Consecutive failed calls (unreachable, unavailable, timed out) after which a daemon\'s circuit breaker opens and calls are refused.' },
  { name: 'DAEMON_BREAKER_RESET_MS', kind: 'integer', default: '60000', min: 100, max: 3600000, group: 'daemons', description: 'How long an open circuit breaker refuses calls before letting one trial call through (half-open).' },

  // Nostr
  { name: 'NOSTR_RELAYS', kind: 'list', group: 'nostr', description: 'Comma-separated relay URLs (wss://…): the relays wallets use; give every API process the same list. Unset: the embedded relay on loopback — with DATABASE_URL an API process refuses that unless NOSTR_EMBEDDED_RELAY=true.' },
  { name: 'NOSTR_EMBEDDED_RELAY', kind: 'boolean', default: 'false', group: 'nostr', description: 'With DATABASE_URL and no NOSTR_RELAYS: true lets the API process run the embedded relay (one API process on one host; wallets reach it only through a proxy you put in front of 127.0.0.1:EMBEDDED_RELAY_PORT). Without DATABASE_URL the embedded relay is the default anyway. Refused together with NOSTR_RELAYS.' },
  { name: 'NOSTR_PRIVATE_KEY', kind: 'string', secret: true, group: 'nostr', description: 'Plain gateway Nostr key (hex or nsec); accepted with a warning, prefer GATEWAY_NOSTR_PRIVATE_KEY.' },
  { name: 'GATEWAY_NOSTR_PRIVATE_KEY', kind: 'string', secret: true, group: 'nostr', description: 'Gateway Nostr key encrypted with GATEWAY_ENCRYPTION_KEY (from `arkrelay keys encrypt`).' },
  { name: 'GATEWAY_ENCRYPTION_KEY', kind: 'string', secret: true, min: 32, group: 'nostr', description: 'Key that encrypts the gateway Nostr key at rest (at least 32 characters).' },
  { name: 'EMBEDDED_RELAY_PORT', kind: 'integer', default: '7000', min: 0, max: 65535, group: 'nostr', description: 'Port of the embedded relay on 127.0.0.1 when NOSTR_RELAYS is unset.' },
  { name: 'NOSTR_ALLOW_NIP04', kind: 'boolean', default: 'true', group: 'nostr', description: 'Accept NIP-04 encrypted requests and answer them in NIP-04. false: they get error 1007 (NIP-44 only).' },
  { name: 'NOSTR_CATCHUP_WINDOW_S', kind: 'integer', default: '600', min: 0, max: 604800, group: 'nostr', description: 'A (re)subscription asks each relay for events since the last one seen minus this many seconds (clock skew, late publishers).' },
  { name: 'NOSTR_MAX_EVENT_BYTES', kind: 'integer', default: '65536', min: 1024, max: 4194304, group: 'nostr', description: 'Largest incoming event (serialised JSON); larger ones are answered with 1002.' },
  { name: 'NOSTR_RATE_LIMIT_PER_MINUTE', kind: 'integer', default: '60', min: 1, max: 100000, group: 'nostr', description: 'Events accepted per author per minute by one API process; beyond it, error 1008.' },
  { name: 'NOSTR_KEY_GRACE_HOURS', kind: 'integer', default: '168', min: 0, max: 87600, group: 'nostr', description: 'After a key rotation, how long the previous gateway key still decrypts and answers.' },
  { name: 'NOSTR_REPLY_TTL_S', kind: 'integer', default: '604800', min: 60, max: 31536000, group: 'nostr', description: 'NIP-40 expiration of replies and notices the gateway publishes, in seconds from publishing.' },
  { name: 'NOSTR_CLAIM_LEASE_S', kind: 'integer', default: '120', min: 5, max: 86400, group: 'nostr', description: 'An event claimed but not answered after this long (its process died) is handed to a worker again.' },
  { name: 'NOSTR_PUBLISH_TIMEOUT_MS', kind: 'integer', default: '10000', min: 100, max: 600000, group: 'nostr', description: 'How long publishing waits for a relay to answer OK before retrying.' },

  // Monitoring
  { name: 'ENABLE_METRICS', kind: 'boolean', default: 'true', group: 'monitoring', description: 'Serve Prometheus metrics on METRICS_PORT (every process: give each process on one host its own port, or 0 for a free one).' },
  { name: 'METRICS_PORT', kind: 'integer', default: '8080', min: 0, max: 65535, group: 'monitoring', description: 'Port of the process\'s own server: GET /metrics, and the probes GET /health and GET /ready (the only port of a worker or a scheduler, which keep it for the probes when ENABLE_METRICS=false).' },
  { name: 'METRICS_HOST', kind: 'string', default: '0.0.0.0', group: 'monitoring', description: 'Address the Prometheus exporter listens on.' },
  { name: 'MONITORING_SAMPLE_INTERVAL_MS', kind: 'integer', default: '60000', min: 100, max: 3600000, group: 'monitoring', description: 'How often CPU, memory, disk and event loop lag are sampled into system_metrics.' },
  { name: 'ALERT_EVALUATION_INTERVAL_MS', kind: 'integer', default: '30000', min: 100, max: 3600000, group: 'monitoring', description: 'How often the alert rules are evaluated.' },
  { name: 'ALERT_RESEND_INTERVAL_MS', kind: 'integer', default: '60000', min: 1000, max: 3600000, group: 'monitoring', description: 'How often firing alerts are sent to ALERT_WEBHOOK_URL again while they last (Alertmanager resolves an alert it stops hearing about; keep this well under its resolve_timeout).' },
  { name: 'ALERT_INVENTORY_GRACE_MS', kind: 'integer', default: '1800000', min: 0, max: 86400000, group: 'monitoring', description: 'After an asset is registered (a fresh deploy), how long the low-inventory alert waits for the running inventory monitor to make its first VTXO_INVENTORY_CRITICAL VTXOs.' },
  { name: 'ALERT_WEBHOOK_URL', kind: 'url', secret: true, group: 'monitoring', description: 'Alertmanager-compatible receiver that firing and resolved alerts are POSTed to (unset: log and history only).' },
  { name: 'VTXO_INVENTORY_CRITICAL', kind: 'integer', default: '1000', min: 0, max: 100000000, group: 'monitoring', description: 'Available VTXOs per enabled asset below which the low-inventory alert fires.' },

  // Ledger: inventory, cleanup, L1 commitments (docs/ledger.md)
  { name: 'VTXO_INVENTORY_WARNING', kind: 'integer', default: '3000', min: 0, max: 100000000, group: 'ledger', description: 'Available VTXOs per asset below which the inventory monitor replenishes when the on-chain fee rate is low (below VTXO_LOW_FEE_RATE); below VTXO_INVENTORY_CRITICAL it replenishes whatever the fee. Must lie between VTXO_INVENTORY_CRITICAL and VTXO_INVENTORY_TARGET.' },
  { name: 'VTXO_INVENTORY_TARGET', kind: 'integer', default: '10000', min: 1, max: 100000000, group: 'ledger', description: 'Available VTXOs per asset the inventory monitor replenishes up to.' },
  { name: 'VTXO_BATCH_SIZE', kind: 'integer', default: '1000', min: 1, max: 10000, group: 'ledger', description: 'Inventory VTXOs created per Ark batch by the inventory monitor.' },
  { name: 'VTXO_INVENTORY_AMOUNT_SATS', kind: 'integer', default: '1000', min: 1, max: 100000000, group: 'ledger', description: 'Sats in each inventory VTXO the monitor creates (at least the Ark server\'s dust).' },
  { name: 'VTXO_LOW_FEE_RATE', kind: 'integer', default: '10', min: 1, max: 100000, group: 'ledger', description: 'On-chain fee rate (sat/vB, lnd\'s 6-block estimate) below which the fee is low enough to replenish an inventory that is only below VTXO_INVENTORY_WARNING.' },
  { name: 'VTXO_MONITOR_INTERVAL_MS', kind: 'integer', default: '300000', min: 1000, max: 86400000, group: 'ledger', description: 'How often the inventory monitor checks the available VTXOs of each asset.' },
  { name: 'VTXO_CLEANUP_INTERVAL_MS', kind: 'integer', default: '60000', min: 1000, max: 86400000, group: 'ledger', description: 'How often VTXOs past expiry are marked expired and stale session locks are released.' },
  { name: 'SESSION_TIMEOUT_S', kind: 'integer', default: '900', min: 30, max: 86400, group: 'ceremony', description: 'A signing session must settle within this many seconds of its intent being accepted; past it the session fails with 3003 and its locks are released.' },
  { name: 'SESSION_STEP_TIMEOUT_S', kind: 'integer', default: '120', min: 5, max: 3600, group: 'ceremony', description: 'Seconds the gateway has to prepare a signing challenge (31511), and then the wallet to answer it; past either the session fails with 3003 and its locks are released.' },
  { name: 'SESSION_MAX_OPEN_PER_AUTHOR', kind: 'integer', default: '8', min: 1, max: 10000, group: 'ceremony', description: 'Open signing sessions one author may have at once; a further intent or batch leg is refused with 1008 (details.retry_after).' },
  { name: 'SESSION_MAX_ABANDONED_PER_HOUR', kind: 'integer', default: '10', min: 1, max: 100000, group: 'ceremony', description: 'Sessions of one author that ended with 3002 or 3003 (answered wrongly, or not at all) in the last hour; past it the author\'s intents are refused with 1008 until the oldest leaves the hour.' },
  { name: 'SESSION_MAX_INVENTORY_PER_AUTHOR', kind: 'integer', default: '8', min: 1, max: 10000, group: 'ceremony', description: 'Gateway inventory VTXOs one author\'s open sessions may hold locked at once; an intent that needs more is refused with 1008.' },
  { name: 'SESSION_CHALLENGE_RETENTION_DAYS', kind: 'integer', default: '30', min: 1, max: 3650, group: 'ceremony', description: 'Days the challenges (whole PSBTs) of an ended session are kept before POST /sessions/cleanup deletes them; the session row stays as the record.' },
  { name: 'TEST_CRASH_AFTER', kind: 'string', group: 'ceremony', description: 'Test hook for crash tests only, never in production: the process kills itself (SIGKILL) right after this ceremony point — accepted, ark_tx_prepared, awaiting_signatures, answered, submitted, server_signed, finalized or confirmed.' },
  { name: 'CEREMONY_SWEEP_INTERVAL_MS', kind: 'integer', default: '5000', min: 500, max: 600000, group: 'ceremony', description: 'How often open signing sessions are resumed (after a crash, or a daemon that was down) and timed out.' },
  { name: 'LEDGER_RECONCILE_INTERVAL_MS', kind: 'integer', default: '60000', min: 1000, max: 86400000, group: 'ceremony', description: 'How often the ledger is reconciled with the Ark server: transactions a wallet finalized around the gateway are settled, VTXOs the server holds stay locked, locks it no longer holds are released.' },
  { name: 'L1_COMMITMENT_INTERVAL_MS', kind: 'integer', default: '3600000', min: 10000, max: 604800000, group: 'ledger', description: 'How often the finalized Ark transactions not yet committed are hashed into a Merkle root, anchored to the Ark server\'s latest L1 commitment and announced (kind 31342).' },
  { name: 'BACKUP_DIR', kind: 'string', group: 'monitoring', description: 'Where /admin/backup/create writes owner-only backups (default: DATA_DIR/backups).' },
  { name: 'BACKUP_RETENTION_DAYS', kind: 'integer', default: '30', min: 0, max: 36500, group: 'monitoring', description: 'Backups in BACKUP_DIR older than this many days are deleted after each backup and by `backup prune` (0: no age limit). The newest full backup is always kept.' },
  { name: 'BACKUP_RETENTION_COUNT', kind: 'integer', default: '100', min: 0, max: 100000, group: 'monitoring', description: 'Backups kept in BACKUP_DIR, newest first; older ones are deleted after each backup and by `backup prune` (0: no count limit). The newest full backup is always kept.' },

  // Ledger: assets and reserves
  { name: 'GBTC_ISSUANCE', kind: 'integer', default: '2100000000000000', min: 1, max: 9007199254740991, group: 'ledger', description: 'gBTC units (sats) minted through tapd on first start: the issuer\'s stock, not circulation (gBTC enters circulation only by lifts). Read once; changing it later mints nothing.' },
  { name: 'RESERVE_CHECK_INTERVAL_MS', kind: 'integer', default: '300000', min: 1000, max: 86400000, group: 'ledger', description: 'How often the ledger.reserve-check job records the gBTC reserve (Lightning channel + on-chain balance against the circulating supply).' },

  // Intents and fees (docs/protocol.md, "Intents (31510)")
  { name: 'FEE_ASSET', kind: 'string', default: 'gBTC', group: 'ceremony', description: 'Asset (asset_id) in which every intent but a Lightning land pays its flat fee.' },
  { name: 'FEE_INTENT_AMOUNT', kind: 'integer', default: '10', min: 1, max: 9007199254740991, group: 'ceremony', description: 'Flat fee of every intent but a Lightning land, in units of FEE_ASSET; an intent must declare exactly this (else 4001).' },
  { name: 'FEE_LAND_PPM', kind: 'integer', default: '1000', min: 0, max: 1000000, group: 'ceremony', description: 'Fee of a Lightning land in parts per million of the landed amount (1000 = 0.1 %), rounded up, at least 1, in the landed asset.' },
  { name: 'INTENT_MAX_LIFETIME_S', kind: 'integer', default: '3600', min: 60, max: 604800, group: 'ceremony', description: 'How far ahead an intent\'s deadline (the earlier of expires_at and its expiration tag) may lie; later ones are refused with 1003.' },

  // Lightning lifts and lands (docs/lightning.md)
  { name: 'LIGHTNING_INVOICE_EXPIRY_S', kind: 'integer', default: '3600', min: 60, max: 604800, group: 'ledger', description: 'Lifetime of a lift invoice (lift_lightning); an invoice unpaid by then is marked expired and the user notified.' },
  { name: 'LIGHTNING_PAYMENT_TIMEOUT_S', kind: 'integer', default: '60', min: 5, max: 3600, group: 'ledger', description: 'How long lnd may try to route a land payment before it fails (then the land is refunded).' },
  { name: 'LIGHTNING_FEE_LIMIT_SAT', kind: 'integer', default: '1000', min: 0, max: 100000000, group: 'ledger', description: 'Absolute routing fee limit of one land payment, in sats; a payment that would cost more fails (and is refunded).' },
  { name: 'LIGHTNING_SWEEP_INTERVAL_MS', kind: 'integer', default: '30000', min: 500, max: 3600000, group: 'ledger', description: 'How often open lift invoices are reconciled with lnd (paid but missed, expired) and land payments are started, re-attached or refunded.' },

  // Auto-start toggles
  { name: 'MONITORING_AUTO_START', kind: 'boolean', default: 'true', group: 'services', description: 'Start the monitoring service with the API.' },
  { name: 'PERFORMANCE_OPTIMIZATION', kind: 'boolean', default: 'true', group: 'services', description: 'Enable the read cache and the performance optimizer.' },
  { name: 'LIGHTNING_AUTO_START', kind: 'boolean', default: 'true', group: 'services', description: 'Start invoice and payment tracking with the process.' },
  { name: 'VTXO_AUTO_START', kind: 'boolean', default: 'true', group: 'services', description: 'Start the VTXO inventory monitor with the process.' },
  { name: 'NOSTR_AUTO_START', kind: 'boolean', default: 'true', group: 'services', description: 'Start Nostr intake with the API (the guide defaulted to false; Nostr is the only write API, so ArkRelay starts it). false: /ready stays 503 until POST /nostr/start.' },
] as const satisfies readonly VariableSpec[];

export type VariableName = (typeof VARIABLES)[number]['name'];

export const SECRET_VARIABLES: ReadonlySet<string> = new Set(
  VARIABLES.filter((v: VariableSpec) => v.secret).map((v) => v.name),
);

/** A secret value that never prints: logs, errors and JSON see "[redacted]". */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

export interface MariaDbConfig {
  readonly kind: 'mariadb';
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: Secret;
  readonly database: string;
  readonly poolSize: number;
  readonly maxOverflow: number;
  readonly poolTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** The URL with its password hidden, for messages. */
  readonly display: string;
}

export interface SqliteConfig {
  readonly kind: 'sqlite';
  readonly file: string;
}

export type DatabaseConfig = MariaDbConfig | SqliteConfig;

export interface RedisConfig {
  readonly url: Secret;
  readonly display: string;
}

export type DaemonMode = 'sim' | 'real';

export interface DaemonEndpoint {
  /** sim: the in-process simulator; real: the daemon at `address` (then always set). */
  readonly mode: DaemonMode;
  /**
   * Simulated only because nothing configured the daemon (no *_MODE, no address), which a
   * production process refuses (src/config-production.ts); false when *_MODE=sim was set.
   */
  readonly simulatedByDefault?: boolean;
  readonly address: string | undefined;
  readonly tlsCert: Secret | undefined;
  readonly macaroon: Secret | undefined;
  readonly timeoutMs: number;
  /** Retry and circuit-breaker tuning of the real client (DAEMON_RETRY_*, DAEMON_BREAKER_*). */
  readonly resilience?: DaemonResilience;
  /** arkd only: Esplora REST API of its Bitcoin network (ARKD_ESPLORA_URL), without a trailing slash. */
  readonly esploraUrl?: string;
}

/** Per daemon, the variable that chooses its mode and the address that makes it real. */
export const DAEMON_VARIABLES = {
  arkd: { mode: 'ARKD_MODE', address: 'ARKD_URL' },
  tapd: { mode: 'TAPD_MODE', address: 'TAPD_HOST' },
  lnd: { mode: 'LND_MODE', address: 'LND_HOST' },
} as const satisfies Record<string, { mode: VariableName; address: VariableName }>;

export interface DaemonResilience {
  readonly retry: { readonly attempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number };
  readonly breaker: { readonly failureThreshold: number; readonly resetTimeoutMs: number };
}

/** What one author may hold of the ceremony at once (docs/protocol.md, "Abuse limits"). */
export interface AuthorLimits {
  readonly maxOpen: number;
  readonly maxAbandonedPerHour: number;
  readonly maxInventory: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly logDir: string;
  readonly logLevel: string;
  readonly logFileMaxSizeMb: number;
  readonly logFileMaxFiles: number;
  readonly instanceId: string;
  readonly shutdownTimeoutMs: number;
  /** How long an API process answers /ready 503 before closing its listener on shutdown. */
  readonly shutdownDrainMs: number;
  readonly database: DatabaseConfig;
  readonly redis: RedisConfig | undefined;
  readonly jobs: {
    readonly prefix: string;
    readonly concurrency: number;
    readonly attempts: number;
    readonly backoffMs: number;
    readonly heartbeatIntervalMs: number;
  };
  readonly secretKey: Secret | undefined;
  readonly adminApiKey: Secret | undefined;
  readonly adminAuthMaxFailures: number;
  readonly daemons: {
    /** Seed of the simulated world's keys; undefined: generated once under DATA_DIR. */
    readonly simSeed: Secret | undefined;
    readonly arkd: DaemonEndpoint;
    readonly tapd: DaemonEndpoint;
    readonly lnd: DaemonEndpoint;
  };
  readonly nostr: {
    /** Empty: run and use the embedded relay. */
    readonly relays: readonly string[];
    /** NOSTR_EMBEDDED_RELAY: the embedded relay chosen on purpose (allowed with DATABASE_URL). */
    readonly embeddedRelayChosen: boolean;
    readonly plainPrivateKey: Secret | undefined;
    readonly encryptedPrivateKey: Secret | undefined;
    readonly encryptionKey: Secret | undefined;
    readonly embeddedRelayPort: number;
    readonly allowNip04: boolean;
    readonly catchUpWindowS: number;
    readonly maxEventBytes: number;
    readonly rateLimitPerMinute: number;
    readonly keyGraceMs: number;
    readonly replyTtlS: number;
    readonly claimLeaseS: number;
    readonly publishTimeoutMs: number;
  };
  readonly metrics: { readonly enabled: boolean; readonly port: number };
  readonly monitoring: {
    readonly metricsHost: string;
    readonly sampleIntervalMs: number;
    readonly evaluateIntervalMs: number;
    readonly alertWebhookUrl: Secret | undefined;
    readonly inventoryCritical: number;
    readonly alertResendIntervalMs: number;
    readonly inventoryAlertGraceMs: number;
  };
  readonly backupDir: string;
  /** BACKUP_RETENTION_DAYS and BACKUP_RETENTION_COUNT; 0 turns a limit off. */
  readonly backupRetention: { readonly days: number; readonly count: number };
  readonly inventory: {
    /** ARK_INVENTORY_SECRET_KEY; undefined: generated once and kept encrypted in `settings`. */
    readonly secretKey: Secret | undefined;
    /** Replenish below this only when the fee rate is low; critical is monitoring.inventoryCritical. */
    readonly warning: number;
    readonly target: number;
    readonly batchSize: number;
    /** Sats per inventory VTXO (a number here so the config stays JSON; the ledger makes it bigint). */
    readonly amountSats: number;
    /** sat/vB: a fee estimate below it is low. */
    readonly lowFeeRate: number;
    readonly monitorIntervalMs: number;
    readonly cleanupIntervalMs: number;
  };
  readonly l1Commitments: { readonly intervalMs: number };
  readonly ceremony: {
    readonly sessionTimeoutMs: number;
    readonly stepTimeoutMs: number;
    readonly sweepIntervalMs: number;
    readonly reconcileIntervalMs: number;
    /** How long the challenges (whole PSBTs) of an ended session are kept. */
    readonly challengeRetentionMs: number;
    /** TEST_CRASH_AFTER: crash tests only. */
    readonly crashAfter: string | undefined;
    /** Per-author abuse limits (docs/protocol.md, "Abuse limits"). */
    readonly limits: AuthorLimits;
  };
  readonly assets: {
    /** gBTC units minted on first start (GBTC_ISSUANCE); a safe integer (the config stays JSON). */
    readonly gbtcIssuance: number;
    readonly reserveCheckIntervalMs: number;
  };
  readonly intents: {
    /** INTENT_MAX_LIFETIME_S. */
    readonly maxLifetimeS: number;
    /** FEE_ASSET, FEE_INTENT_AMOUNT, FEE_LAND_PPM (safe integers, so the config stays JSON;
     * feeSchedule() gives the bigint FeeSchedule money code uses). */
    readonly fees: { readonly intentAsset: string; readonly intentAmount: number; readonly landPpm: number };
  };
  readonly lightning: {
    readonly invoiceExpiryS: number;
    readonly paymentTimeoutS: number;
    /** LIGHTNING_FEE_LIMIT_SAT (a safe integer, so the config stays JSON). */
    readonly feeLimitSat: number;
    readonly sweepIntervalMs: number;
  };
  readonly autoStart: {
    readonly monitoring: boolean;
    readonly performance: boolean;
    readonly lightning: boolean;
    readonly vtxo: boolean;
    readonly nostr: boolean;
  };
}

export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/** Every bad value at once, one line each, naming the variable; values of secrets are never shown. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map((p) => `${p.variable}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const SPECS: ReadonlyMap<string, VariableSpec> = new Map(VARIABLES.map((v: VariableSpec) => [v.name, v]));
const SPECS_NAMES: ReadonlySet<string> = new Set(SPECS.keys());
const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** Hides the password of a URL so it can appear in a message. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

class Reader {
  readonly problems: ConfigProblem[] = [];
  readonly #env: Env;
  readonly #origins: ReadonlyMap<string, string>;
  constructor(aliases: AliasResolution) {
    this.#env = aliases.env;
    this.#origins = aliases.origins;
  }

  /** How the operator wrote a variable: its name, or the guide aliases it came from. */
  label(name: VariableName): string {
    return this.#origins.get(name) ?? name;
  }

  #spec(name: VariableName): VariableSpec {
    const spec = SPECS.get(name);
    if (!spec) throw new Error(`unknown configuration variable ${name}`);
    return spec;
  }

  /** The raw text of a variable: the environment's (trimmed, blank = unset) or the default. */
  raw(name: VariableName): string | undefined {
    const given = this.#env[name]?.trim();
    return given ? given : this.#spec(name).default;
  }

  isSet(name: VariableName): boolean {
    return Boolean(this.#env[name]?.trim());
  }

  fail(name: string, message: string): void {
    this.problems.push({ variable: name, message });
  }

  #shown(name: VariableName, raw: string): string {
    return this.#spec(name).secret ? '(value hidden)' : `(got "${raw}")`;
  }

  string(name: VariableName): string | undefined {
    const raw = this.raw(name);
    const min = this.#spec(name).min;
    if (raw !== undefined && min !== undefined && raw.length < min) {
      this.fail(name, `must be at least ${min} characters ${this.#shown(name, raw)}`);
      return undefined;
    }
    return raw;
  }

  secret(name: VariableName): Secret | undefined {
    const value = this.string(name);
    return value === undefined ? undefined : new Secret(value);
  }

  integer(name: VariableName): number {
    const spec = this.#spec(name);
    const raw = this.raw(name) ?? '';
    const min = spec.min ?? Number.MIN_SAFE_INTEGER;
    const max = spec.max ?? Number.MAX_SAFE_INTEGER;
    const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.fail(name, `must be a whole number from ${min} to ${max} ${this.#shown(name, raw)}`);
      return Number(spec.default ?? min);
    }
    return value;
  }

  boolean(name: VariableName): boolean {
    const raw = (this.raw(name) ?? '').toLowerCase();
    if (TRUE_WORDS.has(raw)) return true;
    if (FALSE_WORDS.has(raw)) return false;
    this.fail(name, `must be true or false ${this.#shown(name, raw)}`);
    return this.#spec(name).default === 'true';
  }

  choice<T extends string>(name: VariableName): T | undefined {
    const raw = this.raw(name);
    const values = this.#spec(name).values ?? [];
    if (raw === undefined) return undefined;
    if (!values.includes(raw)) {
      this.fail(name, `must be one of ${values.join(', ')} ${this.#shown(name, raw)}`);
      return undefined;
    }
    return raw as T;
  }

  url(name: VariableName, protocols: readonly string[], example: string): URL | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
    if (!url || !protocols.includes(url.protocol) || !url.hostname) {
      const shown = this.#spec(name).secret ? '' : ` (got "${raw}")`;
      this.fail(name, `must be a URL like ${example}${shown}`);
      return undefined;
    }
    return url;
  }

  list(name: VariableName): string[] {
    const raw = this.raw(name);
    return raw === undefined
      ? []
      : raw
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean);
  }
}

function readDatabase(r: Reader, dataDir: string): DatabaseConfig {
  const pool = {
    poolSize: r.integer('DB_POOL_SIZE'),
    maxOverflow: r.integer('DB_MAX_OVERFLOW'),
    poolTimeoutMs: r.integer('DB_POOL_TIMEOUT_MS'),
    connectTimeoutMs: r.integer('DB_CONNECT_TIMEOUT_MS'),
  };
  if (!r.isSet('DATABASE_URL')) return { kind: 'sqlite', file: resolve(dataDir, 'arkrelay.sqlite') };
  const example = 'mysql://user:password@127.0.0.1:3306/arkrelay';
  const url = r.url('DATABASE_URL', ['mysql:', 'mariadb:'], example);
  const database = url ? decodeURIComponent(url.pathname.replace(/^\//, '')) : '';
  if (url && !/^[A-Za-z0-9_$-]{1,64}$/.test(database)) {
    r.fail('DATABASE_URL', `must name a database after the host, like ${example}`);
  }
  return {
    kind: 'mariadb',
    host: url?.hostname ?? '',
    port: url?.port ? Number(url.port) : 3306,
    user: url ? decodeURIComponent(url.username) || 'root' : '',
    password: new Secret(url ? decodeURIComponent(url.password) : ''),
    database,
    display: url ? redactUrl(url.toString()) : '',
    ...pool,
  };
}

function readDaemons(r: Reader, aliasProblems: readonly ConfigProblem[]): Config['daemons'] {
  for (const problem of aliasProblems) r.fail(problem.variable, problem.message);
  const resilience: DaemonResilience = {
    retry: {
      attempts: r.integer('DAEMON_RETRY_ATTEMPTS'),
      baseDelayMs: r.integer('DAEMON_RETRY_BASE_MS'),
      maxDelayMs: r.integer('DAEMON_RETRY_MAX_MS'),
    },
    breaker: {
      failureThreshold: r.integer('DAEMON_BREAKER_FAILURES'),
      resetTimeoutMs: r.integer('DAEMON_BREAKER_RESET_MS'),
    },
  };
  // Each daemon has its own mode: real when its address is set, else the simulator. An explicit
  // mode that contradicts the address is refused: a configured daemon is never silently
  // replaced by the simulator, and `real` never runs without an address.
  const endpoint = (
    modeName: VariableName,
    addressName: VariableName,
    address: string | undefined,
    cert: VariableName | undefined,
    macaroon: VariableName | undefined,
    timeout: VariableName,
  ): DaemonEndpoint => {
    const chosen = r.choice<DaemonMode>(modeName);
    const hasAddress = r.isSet(addressName);
    const mode = chosen ?? (hasAddress ? 'real' : 'sim');
    if (mode === 'sim' && hasAddress) {
      const given = r.label(addressName);
      const are = given.includes(' and ') ? 'are' : 'is';
      r.fail(modeName, `is sim but ${given} ${are} set; unset ${given} or choose real`);
    }
    if (mode === 'real' && !hasAddress) r.fail(addressName, `is required when ${modeName} is real`);
    return {
      mode,
      simulatedByDefault: mode === 'sim' && chosen === undefined,
      address,
      tlsCert: cert ? r.secret(cert) : undefined,
      macaroon: macaroon ? r.secret(macaroon) : undefined,
      timeoutMs: r.integer(timeout),
      resilience,
    };
  };
  const arkdUrl = r.url('ARKD_URL', ['http:', 'https:'], 'http://127.0.0.1:7070');
  const arkd = endpoint(
    'ARKD_MODE',
    'ARKD_URL',
    arkdUrl?.toString().replace(/\/$/, ''),
    undefined,
    undefined,
    'ARKD_TIMEOUT_MS',
  );
  const esploraUrl = r.url('ARKD_ESPLORA_URL', ['http:', 'https:'], 'http://127.0.0.1:3000');
  const tapd = endpoint(
    'TAPD_MODE',
    'TAPD_HOST',
    r.string('TAPD_HOST'),
    'TAPD_TLS_CERT',
    'TAPD_MACAROON',
    'TAPD_TIMEOUT_MS',
  );
  const lnd = endpoint(
    'LND_MODE',
    'LND_HOST',
    r.string('LND_HOST'),
    'LND_TLS_CERT',
    'LND_MACAROON',
    'LND_TIMEOUT_MS',
  );
  for (const [name, value] of [
    ['TAPD_HOST', tapd.address],
    ['LND_HOST', lnd.address],
  ] as const) {
    if (value !== undefined && !/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(value)) {
      const port = name === 'TAPD_HOST' ? 'TAPD_PORT' : 'LND_PORT';
      r.fail(name, `must be host:port, or a host with ${port} (got "${value}")`);
    }
  }
  return {
    simSeed: r.secret('SIM_SEED'),
    arkd: esploraUrl ? { ...arkd, esploraUrl: esploraUrl.toString().replace(/\/$/, '') } : arkd,
    tapd,
    lnd,
  };
}

function readNostr(r: Reader): Config['nostr'] {
  const relays = r.list('NOSTR_RELAYS');
  for (const relay of relays) {
    let ok: boolean;
    try {
      const url = new URL(relay);
      ok = (url.protocol === 'ws:' || url.protocol === 'wss:') && Boolean(url.hostname);
    } catch {
      ok = false;
    }
    if (!ok) r.fail('NOSTR_RELAYS', `each relay must be a ws:// or wss:// URL (got "${relay}")`);
  }
  const embeddedRelayChosen = r.boolean('NOSTR_EMBEDDED_RELAY');
  if (embeddedRelayChosen && relays.length > 0) {
    r.fail('NOSTR_EMBEDDED_RELAY', 'is true but NOSTR_RELAYS is set; unset one of them');
  }
  const encryptedPrivateKey = r.secret('GATEWAY_NOSTR_PRIVATE_KEY');
  const encryptionKey = r.secret('GATEWAY_ENCRYPTION_KEY');
  if (encryptedPrivateKey && !encryptionKey) {
    r.fail('GATEWAY_ENCRYPTION_KEY', 'is required to decrypt GATEWAY_NOSTR_PRIVATE_KEY');
  }
  return {
    relays: [...new Set(relays)],
    embeddedRelayChosen,
    plainPrivateKey: r.secret('NOSTR_PRIVATE_KEY'),
    encryptedPrivateKey,
    encryptionKey,
    embeddedRelayPort: r.integer('EMBEDDED_RELAY_PORT'),
    allowNip04: r.boolean('NOSTR_ALLOW_NIP04'),
    catchUpWindowS: r.integer('NOSTR_CATCHUP_WINDOW_S'),
    maxEventBytes: r.integer('NOSTR_MAX_EVENT_BYTES'),
    rateLimitPerMinute: r.integer('NOSTR_RATE_LIMIT_PER_MINUTE'),
    keyGraceMs: r.integer('NOSTR_KEY_GRACE_HOURS') * 3_600_000,
    replyTtlS: r.integer('NOSTR_REPLY_TTL_S'),
    claimLeaseS: r.integer('NOSTR_CLAIM_LEASE_S'),
    publishTimeoutMs: r.integer('NOSTR_PUBLISH_TIMEOUT_MS'),
  };
}

function readInventory(r: Reader): Config['inventory'] {
  const secretKey = r.secret('ARK_INVENTORY_SECRET_KEY');
  if (secretKey && !/^[0-9a-fA-F]{64}$/.test(secretKey.reveal())) {
    r.fail('ARK_INVENTORY_SECRET_KEY', 'must be 64 hex characters (a 32-byte secp256k1 secret key)');
  }
  const critical = r.integer('VTXO_INVENTORY_CRITICAL');
  const warning = r.integer('VTXO_INVENTORY_WARNING');
  const target = r.integer('VTXO_INVENTORY_TARGET');
  // The monitor's thresholds only make sense in this order (docs/ledger.md).
  if (critical > warning)
    r.fail('VTXO_INVENTORY_WARNING', `must be at least VTXO_INVENTORY_CRITICAL (${critical})`);
  if (warning > target)
    r.fail('VTXO_INVENTORY_TARGET', `must be at least VTXO_INVENTORY_WARNING (${warning})`);
  return {
    secretKey,
    warning,
    target,
    batchSize: r.integer('VTXO_BATCH_SIZE'),
    amountSats: r.integer('VTXO_INVENTORY_AMOUNT_SATS'),
    lowFeeRate: r.integer('VTXO_LOW_FEE_RATE'),
    monitorIntervalMs: r.integer('VTXO_MONITOR_INTERVAL_MS'),
    cleanupIntervalMs: r.integer('VTXO_CLEANUP_INTERVAL_MS'),
  };
}

/**
 * Reads and validates the whole configuration from an environment. Pure: the caller decides
 * where the environment comes from (process.env merged with .env in main.ts, literals in tests).
 * Throws ConfigError listing every problem.
 */
export function loadConfig(env: Env): Config {
  const aliases = resolveDaemonAliases(env);
  const r = new Reader(aliases);
  const dataDir = resolve(r.string('DATA_DIR') ?? './data');
  const database = readDatabase(r, dataDir);
  const redisUrl = r.url('REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379');
  const secretKey = r.secret('SECRET_KEY');
  if (database.kind === 'mariadb' && !r.isSet('SECRET_KEY')) {
    r.fail('SECRET_KEY', 'is required when DATABASE_URL is set (at least 32 random characters)');
  }
  const prefix = r.string('QUEUE_PREFIX') ?? 'arkrelay';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix))
    r.fail('QUEUE_PREFIX', `must be letters, digits, _ . - (got "${prefix}")`);

  // The fee asset is an asset_id as intents write it (src/domain/intents.ts).
  const feeAsset = r.string('FEE_ASSET') ?? 'gBTC';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(feeAsset))
    r.fail('FEE_ASSET', `must be 1-64 of A-Z a-z 0-9 _ . - (got "${feeAsset}")`);

  const config: Config = {
    port: r.integer('PORT'),
    host: r.string('HOST') ?? '127.0.0.1',
    dataDir,
    logDir: resolve(r.string('LOG_DIR') ?? './logs'),
    logLevel: r.choice<string>('LOG_LEVEL') ?? 'info',
    logFileMaxSizeMb: r.integer('LOG_FILE_MAX_SIZE_MB'),
    logFileMaxFiles: r.integer('LOG_FILE_MAX_FILES'),
    instanceId: r.string('INSTANCE_ID') ?? `${hostname()}-${process.pid}`,
    shutdownTimeoutMs: r.integer('SHUTDOWN_TIMEOUT_MS'),
    shutdownDrainMs: r.integer('SHUTDOWN_DRAIN_MS'),
    database,
    redis: redisUrl
      ? { url: new Secret(redisUrl.toString()), display: redactUrl(redisUrl.toString()) }
      : undefined,
    jobs: {
      prefix,
      concurrency: r.integer('WORKER_CONCURRENCY'),
      attempts: r.integer('JOB_ATTEMPTS'),
      backoffMs: r.integer('JOB_BACKOFF_MS'),
      heartbeatIntervalMs: r.integer('HEARTBEAT_INTERVAL_MS'),
    },
    secretKey,
    adminApiKey: r.secret('ADMIN_API_KEY'),
    adminAuthMaxFailures: r.integer('ADMIN_AUTH_MAX_FAILURES'),
    daemons: readDaemons(r, [...aliases.problems, ...unknownDaemonVariables(env, SPECS_NAMES)]),
    nostr: readNostr(r),
    metrics: { enabled: r.boolean('ENABLE_METRICS'), port: r.integer('METRICS_PORT') },
    monitoring: {
      metricsHost: r.string('METRICS_HOST') ?? '0.0.0.0',
      sampleIntervalMs: r.integer('MONITORING_SAMPLE_INTERVAL_MS'),
      evaluateIntervalMs: r.integer('ALERT_EVALUATION_INTERVAL_MS'),
      alertWebhookUrl: ((url) => (url ? new Secret(url.toString()) : undefined))(
        r.url('ALERT_WEBHOOK_URL', ['http:', 'https:'], 'http://alertmanager:9093/api/v2/alerts'),
      ),
      inventoryCritical: r.integer('VTXO_INVENTORY_CRITICAL'),
      alertResendIntervalMs: r.integer('ALERT_RESEND_INTERVAL_MS'),
      inventoryAlertGraceMs: r.integer('ALERT_INVENTORY_GRACE_MS'),
    },
    backupDir: resolve(r.string('BACKUP_DIR') ?? resolve(dataDir, 'backups')),
    backupRetention: { days: r.integer('BACKUP_RETENTION_DAYS'), count: r.integer('BACKUP_RETENTION_COUNT') },
    inventory: readInventory(r),
    l1Commitments: { intervalMs: r.integer('L1_COMMITMENT_INTERVAL_MS') },
    ceremony: {
      sessionTimeoutMs: r.integer('SESSION_TIMEOUT_S') * 1000,
      stepTimeoutMs: r.integer('SESSION_STEP_TIMEOUT_S') * 1000,
      sweepIntervalMs: r.integer('CEREMONY_SWEEP_INTERVAL_MS'),
      reconcileIntervalMs: r.integer('LEDGER_RECONCILE_INTERVAL_MS'),
      challengeRetentionMs: r.integer('SESSION_CHALLENGE_RETENTION_DAYS') * 86_400_000,
      crashAfter: r.string('TEST_CRASH_AFTER'),
      limits: {
        maxOpen: r.integer('SESSION_MAX_OPEN_PER_AUTHOR'),
        maxAbandonedPerHour: r.integer('SESSION_MAX_ABANDONED_PER_HOUR'),
        maxInventory: r.integer('SESSION_MAX_INVENTORY_PER_AUTHOR'),
      },
    },
    assets: {
      gbtcIssuance: r.integer('GBTC_ISSUANCE'),
      reserveCheckIntervalMs: r.integer('RESERVE_CHECK_INTERVAL_MS'),
    },
    intents: {
      maxLifetimeS: r.integer('INTENT_MAX_LIFETIME_S'),
      fees: {
        intentAsset: feeAsset,
        intentAmount: r.integer('FEE_INTENT_AMOUNT'),
        landPpm: r.integer('FEE_LAND_PPM'),
      },
    },
    lightning: {
      invoiceExpiryS: r.integer('LIGHTNING_INVOICE_EXPIRY_S'),
      paymentTimeoutS: r.integer('LIGHTNING_PAYMENT_TIMEOUT_S'),
      feeLimitSat: r.integer('LIGHTNING_FEE_LIMIT_SAT'),
      sweepIntervalMs: r.integer('LIGHTNING_SWEEP_INTERVAL_MS'),
    },
    autoStart: {
      monitoring: r.boolean('MONITORING_AUTO_START'),
      performance: r.boolean('PERFORMANCE_OPTIMIZATION'),
      lightning: r.boolean('LIGHTNING_AUTO_START'),
      vtxo: r.boolean('VTXO_AUTO_START'),
      nostr: r.boolean('NOSTR_AUTO_START'),
    },
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

function daemonsSummary(config: Config): 'sim' | 'real' | 'mixed' {
  const modes = new Set([config.daemons.arkd.mode, config.daemons.tapd.mode, config.daemons.lnd.mode]);
  return modes.size > 1 ? 'mixed' : (config.daemons.arkd.mode as 'sim' | 'real');
}

/** What this configuration runs on, for `GET /` and the start-up line. */
export function describeMode(config: Config) {
  return {
    mode: config.database.kind === 'sqlite' && !config.redis ? 'embedded' : 'production',
    storage: config.database.kind,
    queue: config.redis ? 'bullmq' : 'in-process',
    daemons: daemonsSummary(config),
    arkd: config.daemons.arkd.mode,
    tapd: config.daemons.tapd.mode,
    lnd: config.daemons.lnd.mode,
    relays: config.nostr.relays.length > 0 ? 'external' : 'embedded',
  } as const;
}
