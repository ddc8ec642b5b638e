// The `arkrelay` command line: one process role per command, configuration from the
// environment and .env, one clear line per problem that stops a start.
import { Command } from 'commander';
import { config as loadDotenv } from 'dotenv';
import { startGateway, runMigrations, type Role } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { StartupError } from './errors.ts';
import { createLogger, flushLogger, type Logger } from './logging.ts';
import { NAME, VERSION } from './version.ts';

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
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, { roles, logger });
  } catch (error) {
    if (error instanceof StartupError) {
      logger.error({ variable: error.variable }, error.message);
      await flushLogger(logger);
      fail([error.message]);
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
      .stop(signal)
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

await program.parseAsync(process.argv);
