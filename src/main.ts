// The `arkrelay` command line: one process role per command, configuration from the
// environment and .env, one clear line per problem that stops a start.
import { Command } from 'commander';
import { config as loadDotenv } from 'dotenv';
import type { Role } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { StartupError } from './errors.ts';
import type { BackupType } from './operations/backup.ts';
import { createLogger, flushLogger, type Logger } from './logging.ts';
import { NAME, VERSION } from './version.ts';

// Each command imports what it needs when it runs: `arkrelay --help` or `keys pubkey` should
// not pay for loading the daemons' clients, Fastify and the Bitcoin libraries.
const app = () => import('./app.ts');

function fail(lines: readonly string[], code = 1): never {
  for (const line of lines) process.stderr.write(`${NAME}: ${line}\n`);
  process.exit(code);
}

function readConfig(): Config {
  // .env fills only what the environment leaves unset; the environment wins.
  loadDotenv({ quiet: true });
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError)
      fail(
        error.problems.map((p) => `${p.variable}: ${p.message}`),
        2,
      );
    throw error;
  }
}

function processLogger(config: Config, role: string): Logger {
  return createLogger({
    level: config.logLevel,
    logDir: config.logDir,
    maxSizeMb: config.logFileMaxSizeMb,
    maxFiles: config.logFileMaxFiles,
    base: { instance: config.instanceId, role, pid: process.pid },
  });
}

async function run(roles: readonly Role[], command: string): Promise<void> {
  const config = readConfig();
  if (!config.redis && command !== 'dev' && command !== 'serve') {
    fail([
      `REDIS_URL: is required by \`${NAME} ${command}\`: without Redis the job queue lives inside one process; use \`${NAME} serve\` or \`${NAME} dev\``,
    ]);
  }
  const logger = processLogger(config, command);
  const { startGateway } = await app();
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, { roles, logger });
  } catch (error) {
    if (error instanceof StartupError) {
      logger.error({ variable: error.variable }, error.message);
      await flushLogger(logger);
      fail([error.message]);
    }
    // A configuration this process must not start on (production checks): one line each.
    if (error instanceof ConfigError) {
      for (const p of error.problems) logger.error({ variable: p.variable }, `${p.variable}: ${p.message}`);
      await flushLogger(logger);
      fail(
        error.problems.map((p) => `${p.variable}: ${p.message}`),
        2,
      );
    }
    logger.fatal({ err: error }, 'start failed');
    await flushLogger(logger);
    throw error;
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    void gateway
      .stop(signal, { drain: signal === 'SIGTERM' || signal === 'SIGINT' })
      .then(async (clean) => {
        await flushLogger(logger);
        process.exit(clean ? 0 : 1);
      })
      .catch(async (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        await flushLogger(logger);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    stop('uncaughtException');
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled rejection');
    stop('unhandledRejection');
  });
}

async function migrate(): Promise<void> {
  const config = readConfig();
  const logger = processLogger(config, 'migrate');
  try {
    const { runMigrations } = await import('./store/migrator.ts');
    const applied = await runMigrations(config, logger);
    console.log(
      applied.length > 0
        ? `applied ${applied.length} migration(s): ${applied.join(', ')}`
        : 'database is up to date',
    );
  } catch (error) {
    if (error instanceof StartupError) fail([error.message]);
    logger.fatal({ err: error }, 'migration failed');
    await flushLogger(logger);
    fail([`migration failed: ${error instanceof Error ? error.message : String(error)}`]);
  }
  await flushLogger(logger);
}

const program = new Command()
  .name(NAME)
  .version(VERSION)
  .description('ArkRelay: a Nostr gateway for Ark, Taproot Assets and Lightning')
  .showHelpAfterError();

program
  .command('serve')
  .description('HTTP API and Nostr intake (also runs the jobs when REDIS_URL is unset)')
  .action(() => run(['api'], 'serve'));
program
  .command('worker')
  .description('job workers (needs REDIS_URL)')
  .action(() => run(['worker'], 'worker'));
program
  .command('scheduler')
  .description('repeating jobs (needs REDIS_URL)')
  .action(() => run(['scheduler'], 'scheduler'));
program
  .command('dev')
  .description('everything in one process: API, intake, workers, scheduler (what `npm start` runs)')
  .action(() => run(['api', 'worker', 'scheduler'], 'dev'));
program
  .command('migrate')
  .description('apply database migrations (safe to run twice, or from two hosts at once)')
  .action(() => migrate());

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

async function keys(action: 'generate' | 'encrypt' | 'rotate' | 'pubkey'): Promise<void> {
  const config = readConfig();
  // stdout carries the command's answer; log lines (warnings only) go to stderr and the files.
  const logger = createLogger({
    level: 'warn',
    logDir: config.logDir,
    maxSizeMb: config.logFileMaxSizeMb,
    maxFiles: config.logFileMaxFiles,
    base: { instance: config.instanceId, role: 'keys', pid: process.pid },
    stdout: process.stderr,
  });
  try {
    const { keysEncrypt, keysGenerate, keysPubkey, keysRotate } = await import('./nostr/keys-cli.ts');
    const lines =
      action === 'generate'
        ? keysGenerate(config)
        : action === 'encrypt'
          ? keysEncrypt(config, await readStdin())
          : action === 'pubkey'
            ? await keysPubkey(config, logger)
            : await keysRotate(config, logger);
    for (const line of lines) console.log(line);
  } catch (error) {
    await flushLogger(logger);
    if (error instanceof StartupError) fail([error.message]);
    throw error;
  }
  await flushLogger(logger);
}

const keysCommand = program
  .command('keys')
  .description('the gateway Nostr key (encrypted at rest with GATEWAY_ENCRYPTION_KEY)');
keysCommand
  .command('generate')
  .description('make a new key; prints its pubkey and GATEWAY_NOSTR_PRIVATE_KEY (encrypted)')
  .action(() => keys('generate'));
keysCommand
  .command('encrypt')
  .description('encrypt a private key read from stdin (hex or nsec) into GATEWAY_NOSTR_PRIVATE_KEY')
  .action(() => keys('encrypt'));
keysCommand
  .command('rotate')
  .description('make a new active key; the previous one is answered for NOSTR_KEY_GRACE_HOURS')
  .action(() => keys('rotate'));
keysCommand
  .command('pubkey')
  .description('print the active gateway pubkey (hex and npub) and the previous ones still answered')
  .action(() => keys('pubkey'));

async function sim(run: (config: Config) => Promise<Record<string, string>>): Promise<void> {
  const config = readConfig();
  try {
    console.log(JSON.stringify(await run(config)));
  } catch (error) {
    if (error instanceof StartupError) fail([error.message]);
    // A refused control (unknown, expired or already paid invoice) is one line, not a trace.
    fail([error instanceof Error ? error.message : String(error)]);
  }
}

const simCommand = program
  .command('sim')
  .description('simulator controls (only when the daemon is simulated)');
simCommand
  .command('pay')
  .argument('<invoice>', "BOLT11 invoice or payment hash of one of the gateway's invoices")
  .description('pay a gateway invoice as an external payer would (e.g. a lift)')
  .action((invoice: string) =>
    sim(async (config) => (await import('./backends/sim/cli.ts')).simPay(config, invoice)),
  );
simCommand
  .command('invoice')
  .argument('<amount_sats>', 'amount in sats')
  .argument('[memo]', 'description', '')
  .description('an invoice of the simulated external node, for a land to pay')
  .action((amount: string, memo: string) => {
    if (!/^[1-9]\d{0,15}$/.test(amount)) fail(['amount_sats must be a positive whole number']);
    return sim(async (config) =>
      (await import('./backends/sim/cli.ts')).simInvoice(config, BigInt(amount), memo),
    );
  });

async function backupCommand(work: (config: Config) => Promise<unknown>): Promise<void> {
  const config = readConfig();
  try {
    const result = await work(config);
    if (result !== undefined) console.log(JSON.stringify(result, null, 2));
  } catch (error) {
    fail([
      error instanceof StartupError
        ? error.message
        : `backup: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
}

const backup = program.command('backup').description('database backups (owner-only files in BACKUP_DIR)');
backup
  .command('create')
  .option('--type <type>', 'full or schema', 'full')
  .description('back the database up now (SQLite: online; MariaDB: mariadb-dump), then apply retention')
  .action((options: { type: string }) => {
    if (options.type !== 'full' && options.type !== 'schema') fail(['--type must be full or schema']);
    return backupCommand(async (config) => {
      const { openDatabase } = await import('./store/database.ts');
      const { createBackup } = await import('./operations/backup.ts');
      const database = await openDatabase(config.database, processLogger(config, 'backup'));
      try {
        return await createBackup(database, config.database, config.backupDir, options.type as BackupType, {
          retention: config.backupRetention,
        });
      } finally {
        await database.close();
      }
    });
  });
backup
  .command('list')
  .description('the backups in BACKUP_DIR, newest first')
  .action(() =>
    backupCommand(async (config) => {
      const { listBackups } = await import('./operations/backup.ts');
      return {
        backup_dir: config.backupDir,
        retention: config.backupRetention,
        backups: await listBackups(config.backupDir),
      };
    }),
  );
const wholeNumber = (name: string) => (value: string) => {
  if (!/^\d{1,6}$/.test(value)) fail([`${name} must be a whole number (0 turns the limit off)`]);
  return Number(value);
};
backup
  .command('prune')
  .option(
    '--days <days>',
    'delete backups older than this (default BACKUP_RETENTION_DAYS)',
    wholeNumber('--days'),
  )
  .option(
    '--count <count>',
    'keep this many, newest first (default BACKUP_RETENTION_COUNT)',
    wholeNumber('--count'),
  )
  .option('--dry-run', 'only report what would be deleted')
  .description('apply retention to BACKUP_DIR now; the newest full backup always stays')
  .action((options: { days?: number; count?: number; dryRun?: boolean }) =>
    backupCommand(async (config) => {
      const { pruneBackups } = await import('./operations/backup.ts');
      const retention = {
        days: options.days ?? config.backupRetention.days,
        count: options.count ?? config.backupRetention.count,
      };
      return pruneBackups(config.backupDir, retention, { dryRun: options.dryRun === true });
    }),
  );
backup
  .command('restore')
  .argument('<file>', 'a full backup: *.sqlite (SQLite) or *.sql (MariaDB); a path, or a name in BACKUP_DIR')
  .option('--force', 'restore even while a gateway process is live on the database (restart it right after)')
  .description('restore into the configured database; refused while a gateway runs on it')
  .action((file: string, options: { force?: boolean }) =>
    backupCommand(async (config) => {
      const { restoreBackup } = await import('./operations/backup.ts');
      const { describeInstances } = await import('./operations/instance-lease.ts');
      const result = await restoreBackup(config.database, file, {
        force: options.force === true,
        backupDir: config.backupDir,
      });
      if (result.live.length > 0) {
        process.stderr.write(
          `${NAME}: warning: restored while live: restart now, or they keep serving (and writing) the old data: ${describeInstances(result.live)}\n`,
        );
      }
      console.log(
        `restored ${result.file} into ${config.database.kind === 'sqlite' ? config.database.file : config.database.display}`,
      );
      return undefined;
    }),
  );

await program.parseAsync(process.argv);
