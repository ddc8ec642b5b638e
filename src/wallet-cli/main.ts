// The `arkrelay-wallet` command: a wallet for ArkRelay on the reference wallet library. Options
// and environment are read here only; each command's code is imported when it runs, so `--help`
// does not load the Bitcoin libraries. Exit statuses: 0 done, 1 refused/failed (the protocol code
// is printed), 2 usage or key file, 3 gateway or relays not reachable / no answer in time.
import { Command } from 'commander';
import { CliError, EXIT, codeName } from './errors.ts';
import { keyFilePath } from './key-file.ts';
import { Output } from './output.ts';
import type { GlobalOptions } from './session.ts';
import { parseTimeoutArg } from './args.ts';

interface RawGlobals {
  key?: string;
  gateway?: string;
  http?: string;
  relay?: string[];
  adminKey?: string;
  json: boolean;
  quiet: boolean;
  timeout: string;
}

/** Runs the CLI; the environment is handed in by the bin script, the one place that reads it. */
export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  const program = new Command()
    .name('arkrelay-wallet')
    .description(
      'A self-custodial ArkRelay wallet: lift, send, split, land, and answer signing challenges after checking them',
    )
    .option('--key <file>', 'key file (default: $ARKRELAY_WALLET_KEY or ~/.arkrelay/wallet.key)')
    .option(
      '--gateway <npub|hex>',
      'the gateway key (default: $ARKRELAY_GATEWAY, or GET <http>/nostr/status)',
      env.ARKRELAY_GATEWAY,
    )
    .option(
      '--http <url>',
      'gateway HTTP address, to discover its key and relays (default: $ARKRELAY_HTTP or http://127.0.0.1:8000)',
      env.ARKRELAY_HTTP,
    )
    .option(
      '--relay <url>',
      "relay URL (repeatable; default: $ARKRELAY_RELAYS or the gateway's)",
      (v: string, all: string[] = []) => [...all, v],
    )
    .option(
      '--admin-key <key>',
      'X-Admin-Key for the simulator controls when the gateway sets ADMIN_API_KEY (default: $ARKRELAY_ADMIN_KEY)',
    )
    .option('--json', 'print the answer as JSON (progress stays on stderr)', false)
    .option('-q, --quiet', 'no progress lines on stderr', false)
    .option('--timeout <seconds>', 'how long to wait for an outcome', '120')
    .showHelpAfterError();

  function context(command: Command): { options: GlobalOptions; out: Output } {
    const raw = command.optsWithGlobals<RawGlobals>();
    const relays =
      raw.relay && raw.relay.length > 0
        ? raw.relay
        : (env.ARKRELAY_RELAYS?.split(',')
            .map((r) => r.trim())
            .filter(Boolean) ?? []);
    const out = new Output(
      { json: raw.json, quiet: raw.quiet },
      { stdout: process.stdout, stderr: process.stderr },
    );
    const options: GlobalOptions = {
      keyFile: keyFilePath(raw.key, env.ARKRELAY_WALLET_KEY),
      relays,
      timeoutMs: parseTimeoutArg(raw.timeout),
      ...(raw.gateway !== undefined ? { gateway: raw.gateway } : {}),
      ...(raw.http !== undefined ? { http: raw.http } : {}),
      ...((raw.adminKey ?? env.ARKRELAY_ADMIN_KEY) !== undefined
        ? { adminKey: (raw.adminKey ?? env.ARKRELAY_ADMIN_KEY)! }
        : {}),
    };
    return { options, out };
  }

  /** Runs one command; turns every error into one clear line and the exit status. */
  function action<A extends unknown[]>(
    work: (ctx: { options: GlobalOptions; out: Output }, ...args: A) => Promise<void> | void,
  ) {
    return async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      let out = new Output({ json: false }, { stdout: process.stdout, stderr: process.stderr });
      try {
        const ctx = context(command);
        out = ctx.out;
        // commander passes the positional arguments, then the command's options, then the command.
        await work(ctx, ...(args.slice(0, -1) as A));
        process.exit(0);
      } catch (error) {
        if (error instanceof CliError) {
          out.error(error.message, {
            message: error.message,
            ...(error.code !== undefined ? { code: error.code, name: codeName(error.code) } : {}),
            ...(error.details ? { details: error.details } : {}),
          });
          process.exit(error.exitCode);
        }
        const message = error instanceof Error ? error.message : String(error);
        out.error(message, { message });
        process.exit(EXIT.FAILED);
      }
    };
  }

  const commands = {
    keygen: () => import('./commands/keygen.ts'),
    info: () => import('./commands/info.ts'),
    balance: () => import('./commands/balance.ts'),
    lift: () => import('./commands/lift.ts'),
    intents: () => import('./commands/intents.ts'),
    watch: () => import('./commands/watch.ts'),
  };

  program
    .command('keygen')
    .description('create a new key file (mode 600); refuses to overwrite one')
    .option('--force', 'replace an existing key file (its funds are lost unless it is backed up)', false)
    .action(
      action(async ({ options, out }, opts: { force: boolean }) =>
        (await commands.keygen()).keygen(options.keyFile, opts.force, out),
      ),
    );

  program
    .command('info')
    .description("the gateway's info (key, version, fees, assets, limits) and this wallet's key")
    .action(action(async ({ options, out }) => (await commands.info()).info(options, out)));

  program
    .command('balance')
    .description('balances per asset, VTXOs and open sessions (sync_state)')
    .action(action(async ({ options, out }) => (await commands.balance()).balance(options, out)));

  program
    .command('lift')
    .argument('<asset>', 'asset id, e.g. gBTC')
    .argument('<amount>', "amount in the asset's base unit (gBTC: sats)")
    .description('get a Lightning invoice that credits the asset to this wallet when paid')
    .option(
      '--pay',
      'simulator mode only: pay it at once through the simulator and wait for the credit',
      false,
    )
    .option('--wait', 'wait until it is paid and credited', false)
    .action(
      action(async ({ options, out }, asset: string, amount: string, opts: { pay: boolean; wait: boolean }) =>
        (await commands.lift()).lift(asset, amount, opts, options, out),
      ),
    );

  const feeOptions = (command: Command) =>
    command
      .option('--fee <amount>', 'the fee the intent declares (default: what the gateway charges by default)')
      .option('--fee-asset <asset>', 'asset of --fee');

  feeOptions(
    program
      .command('send')
      .argument('<recipient>', 'npub or hex pubkey')
      .argument('<asset>', 'asset id')
      .argument('<amount>', "amount in the asset's base unit")
      .option('--memo <text>', 'a memo for the recipient')
      .description('transfer to another key (transfer:p2p) and wait until it settles'),
  ).action(
    action(
      async (
        { options, out },
        recipient: string,
        asset: string,
        amount: string,
        opts: { memo?: string; fee?: string; feeAsset?: string },
      ) => (await commands.intents()).send(recipient, asset, amount, opts, options, out),
    ),
  );

  feeOptions(
    program
      .command('split')
      .argument('<vtxo_id>', 'one of your VTXOs (txid:vout, see `balance`)')
      .argument(
        '<amounts...>',
        'the amounts it becomes (they and the fee add up to it when the fee is in the same asset)',
      )
      .description('split one VTXO into several (vtxo:split) and wait until it settles'),
  ).action(
    action(
      async ({ options, out }, vtxo: string, amounts: string[], opts: { fee?: string; feeAsset?: string }) =>
        (await commands.intents()).split(vtxo, amounts, opts, options, out),
    ),
  );

  feeOptions(
    program
      .command('land')
      .argument('<invoice>', 'BOLT11 invoice to pay')
      .option('--asset <asset>', 'the asset to land', 'gBTC')
      .option('--amount <amount>', 'asset units to land (default for gBTC: the invoice amount in sats)')
      .description('pay a Lightning invoice from this wallet (lightning:land) and wait until it is paid'),
  ).action(
    action(
      async (
        { options, out },
        invoice: string,
        opts: { asset?: string; amount?: string; fee?: string; feeAsset?: string },
      ) => (await commands.intents()).land(invoice, opts, options, out),
    ),
  );

  program
    .command('watch')
    .description(
      'stay connected: verify and answer challenges for intents this wallet signed, show each step',
    )
    .action(
      action(async ({ options, out }) => {
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        await (await commands.watch()).watch(options, out, stop.signal);
      }),
    );

  await program.parseAsync([...argv]);
}
