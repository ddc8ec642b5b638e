// One run of the CLI against the gateway: the key from its file, the gateway and relays, a
// connected reference wallet (which verifies every challenge before it signs), progress lines for
// the ceremony (one challenge, one answer), and "publish an intent, then wait for what became of it".
import {
  ArkRelayWallet,
  OutcomeTimeoutError,
  ServiceError,
  ServiceTimeoutError,
  type Confirmation,
  type SignedIntent,
  type WalletKey,
} from '../wallet/index.ts';
import { CliError, EXIT, describeCode } from './errors.ts';
import { resolveTarget, type Target, type TargetOptions } from './gateway.ts';
import { openIntents, recordIntent } from './intent-journal.ts';
import { readKeyFile } from './key-file.ts';
import type { Output } from './output.ts';

export interface GlobalOptions extends TargetOptions {
  readonly keyFile: string;
  readonly timeoutMs: number;
}

export interface Session {
  readonly wallet: ArkRelayWallet;
  readonly target: Target;
  readonly key: WalletKey;
  close(): void;
}

const short = (id: string) => (id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);

/** Reads the key, finds the gateway, connects, re-approves the journal's open intents. */
export async function openSession(
  options: GlobalOptions,
  out: Output,
  /** `watch` prints events itself and looks further back for challenges still open. */
  mode: 'command' | 'watch' = 'command',
): Promise<Session> {
  const key = readKeyFile(options.keyFile);
  const target = await resolveTarget(options);
  out.progress(`connecting to ${target.relays.join(', ')} (gateway ${short(target.gatewayPubkey)})`);
  let wallet: ArkRelayWallet;
  try {
    wallet = await ArkRelayWallet.connect({
      key,
      gatewayPubkey: target.gatewayPubkey,
      relays: target.relays,
      requestTimeoutMs: Math.min(options.timeoutMs, 30_000),
      // A command publishes after it subscribed, so it needs no history; older challenges were
      // answered (or abandoned) by an earlier run and would only show up as refusals.
      catchupSeconds: mode === 'watch' ? 600 : 2,
    });
  } catch (error) {
    throw new CliError(`cannot connect: ${(error as Error).message}`, { exitCode: EXIT.UNREACHABLE });
  }
  for (const intent of openIntents(options.keyFile)) {
    if (intent.event.pubkey === key.pubkey) wallet.approve(intent);
  }
  if (mode === 'command') showCeremony(wallet, out);
  return { wallet, target, key, close: () => wallet.close() };
}

/** Progress lines for every challenge, answer, refusal and notification the wallet sees. */
export function showCeremony(wallet: ArkRelayWallet, out: Output): void {
  wallet.on('challenge', ({ challenge, verdict }) =>
    out.progress(
      `challenge ${challenge.step}/${challenge.step_total} ${challenge.type} (session ${short(challenge.session_id)}, the Ark tx and ${challenge.psbts.length - 1} checkpoint(s), commitment ${short(challenge.context.commitment.hash)}): ${verdict.ok ? 'verified' : `refused — ${verdict.reason}`}`,
    ),
  );
  wallet.on('responded', ({ response }) =>
    out.progress(`signed ${response.signatures.length} input(s) in one answer and sent it`),
  );
  wallet.on('refused', ({ reason, challenge }) => {
    if (!challenge) out.progress(`unreadable challenge refused: ${reason}`);
  });
  wallet.on('notification', ({ body }) => {
    // The challenge and the answer have their lines; other notices (lift_paid, session_expired…) are news.
    if (body.type !== 'session_progress') out.progress(`notification: ${String(body.type ?? 'message')}`);
  });
}

/** Turns a rejected service request into the CLI's error (protocol code kept). */
export function serviceFailure(error: unknown): never {
  if (error instanceof ServiceError) {
    throw new CliError(
      `${error.action} refused: ${describeCode(error.code, error.message.replace(/^[^:]+: \d+ /, ''))}`,
      {
        code: error.code,
      },
    );
  }
  if (error instanceof ServiceTimeoutError) {
    throw new CliError(`${error.message} (is the gateway running and on these relays?)`, {
      exitCode: EXIT.UNREACHABLE,
    });
  }
  throw error;
}

export async function request<T>(
  session: Session,
  action: string,
  params: Record<string, unknown> = {},
): Promise<T> {
  try {
    return (await session.wallet.request(action, params)) as T;
  } catch (error) {
    serviceFailure(error);
  }
}

/** Loads the wallet's VTXOs (the ones it will agree to sign for). */
export async function sync(session: Session): Promise<Record<string, unknown>> {
  try {
    return (await session.wallet.syncState()).raw;
  } catch (error) {
    serviceFailure(error);
  }
}

/** Publishes a signed intent and waits until it settles (31340) or fails (31341). */
export async function publishAndWait(
  session: Session,
  intent: SignedIntent,
  options: GlobalOptions,
  out: Output,
): Promise<Confirmation> {
  recordIntent(options.keyFile, intent);
  const actionId = intent.content.action_id;
  let relays: string[];
  try {
    relays = await session.wallet.publishIntent(intent);
  } catch (error) {
    throw new CliError(`could not publish: ${(error as Error).message}`, { exitCode: EXIT.UNREACHABLE });
  }
  out.progress(
    `published ${intent.content.type} intent ${actionId} (event ${short(intent.event.id)}) to ${relays.length} relay(s); waiting for the gateway`,
  );
  try {
    const outcome = await session.wallet.outcome(actionId, options.timeoutMs);
    if (outcome.status === 'failed') {
      throw new CliError(
        `${intent.content.type} ${actionId} failed: ${describeCode(outcome.code, outcome.message)}`,
        {
          code: outcome.code,
          details: { action_id: actionId, ...outcome.details },
        },
      );
    }
    out.progress(
      `settled in Ark tx ${short(outcome.confirmation.ark_txid)} (confirmation ${short(outcome.eventId)})`,
    );
    return outcome.confirmation;
  } catch (error) {
    if (error instanceof OutcomeTimeoutError) {
      throw new CliError(
        `no outcome for ${actionId} within ${options.timeoutMs / 1000} s; the intent may still settle — check \`arkrelay-wallet balance\``,
        { exitCode: EXIT.UNREACHABLE, details: { action_id: actionId } },
      );
    }
    throw error;
  }
}
