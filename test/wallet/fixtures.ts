// Real PSBTs for the wallet's tests, made by the simulated Ark server, and challenges crafted the
// way docs/protocol.md says the gateway writes them. The digests in the challenges come from the
// gateway's own sighash helper: the wallet recomputes them with its own code, so the honest case
// passing shows the two independent implementations agree.
import { createHash } from 'node:crypto';
import { base64 } from '@scure/base';
import type { BuiltTransfer, Outpoint, TransferOutput } from '../../src/backends/ark/ark-backend.ts';
import { encodePsbt, parsePsbt, sighashesFor, signInputs } from '../../src/backends/ark/psbt.ts';
import { ArkSimulator } from '../../src/backends/ark/simulator.ts';
import { WalletKey } from '../../src/wallet/keys.ts';
import { key, testWorld, type TestKey, type TestWorld } from '../backends/sim/support.ts';

export { key };

export const gateway = key(1);
export const alice = key(2);
export const bob = key(3);
export const mallory = key(4);
export const aliceWallet = WalletKey.from(alice.priv);

export interface Sim {
  readonly t: TestWorld;
  readonly ark: ArkSimulator;
  readonly server: string;
  dispose(): void;
}

export function startSim(): Sim {
  const t = testWorld();
  const ark = new ArkSimulator(t.world);
  return { t, ark, server: t.world.keys.arkServer.xOnlyHex, dispose: () => t.dispose() };
}

/** Inventory of the gateway, then moved to `to` by a settled Ark tx: a VTXO `to` really owns. */
export async function fund(sim: Sim, to: TestKey, sats: bigint): Promise<string> {
  const batch = await sim.ark.createInventoryBatch({
    ownerPubkey: gateway.pub,
    ownerSecretKey: gateway.priv,
    amounts: [sats],
  });
  const v = batch.vtxos[0]!;
  const built = await sim.ark.buildTransfer(
    [{ outpoint: v.outpoint, ownerPubkey: gateway.pub, amount: sats }],
    [{ ownerPubkey: to.pub, amount: sats }],
  );
  const arkTx = parsePsbt(built.arkPsbt);
  signInputs(arkTx, gateway.priv, [0]);
  const submitted = await sim.ark.submitTx(encodePsbt(arkTx), built.checkpointPsbts);
  const checkpoints = submitted.signedCheckpointPsbts.map((p) => {
    const cp = parsePsbt(p);
    signInputs(cp, gateway.priv, [0]);
    return encodePsbt(cp);
  });
  await sim.ark.finalizeTx(submitted.arkTxid, checkpoints);
  return `${built.arkTxid}:0`;
}

export const outpoint = (id: string): Outpoint => {
  const [txid, vout] = id.split(':');
  return { txid: txid!, vout: Number(vout) };
};

export interface CtxInput {
  vtxo_id: string;
  owner: string;
  asset_id: string;
  amount: bigint;
  sats: bigint;
}

export interface CtxOutput {
  owner: string;
  asset_id: string;
  amount: bigint;
  sats: bigint;
  role: string;
}

export interface ChallengeSpec {
  readonly sessionId?: string;
  readonly intentActionId: string;
  readonly server: string;
  readonly inputs: readonly CtxInput[];
  readonly outputs: readonly CtxOutput[];
  readonly owner?: string;
}

const sha256hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

function context(spec: ChallengeSpec, arkTxid: string) {
  return {
    human: 'test',
    action_id: spec.intentActionId,
    ark_txid: arkTxid,
    server_pubkey: spec.server,
    unilateral_exit_delay: { type: 'blocks', value: '144' },
    inputs: spec.inputs.map((i, index) => ({
      input_index: index,
      ...i,
      amount: i.amount.toString(),
      sats: i.sats.toString(),
    })),
    outputs: spec.outputs.map((o, vout) => ({
      vout,
      ...o,
      amount: o.amount.toString(),
      sats: o.sats.toString(),
    })),
  };
}

/** Step 1 as JSON (what the wallet decrypts), for the Ark tx of `built`. */
export function arkChallengeJson(built: BuiltTransfer, spec: ChallengeSpec): Record<string, unknown> {
  const tx = parsePsbt(built.arkPsbt);
  return {
    session_id: spec.sessionId ?? 'session-1',
    step: 1,
    step_total: 2,
    type: 'sign_ark_tx',
    psbt: built.arkPsbt,
    sighashes: sighashesFor(tx, spec.owner ?? alice.pub).map((s) => ({
      input_index: s.inputIndex,
      digest: s.digest,
      psbt_index: 0,
    })),
    payload_ref: sha256hex(base64.decode(built.arkPsbt)),
    domain: 'ark_tx',
    context: context(spec, built.arkTxid),
    expires_at: Math.floor(Date.now() / 1000) + 120,
  };
}

/** Step 2 as JSON: the checkpoints the server signed, in input order. */
export function checkpointChallengeJson(
  arkTxid: string,
  checkpoints: readonly string[],
  spec: ChallengeSpec,
): Record<string, unknown> {
  const owner = spec.owner ?? alice.pub;
  return {
    session_id: spec.sessionId ?? 'session-1',
    step: 2,
    step_total: 2,
    type: 'sign_checkpoint_txs',
    psbts: checkpoints,
    sighashes: checkpoints.flatMap((psbt, index) =>
      spec.inputs[index]!.owner === owner
        ? sighashesFor(parsePsbt(psbt), owner).map((s) => ({
            input_index: s.inputIndex,
            digest: s.digest,
            psbt_index: index,
          }))
        : [],
    ),
    payload_ref: sha256hex(checkpoints.join('\n')),
    domain: 'checkpoint_txs',
    context: context(spec, arkTxid),
    expires_at: Math.floor(Date.now() / 1000) + 120,
  };
}

export function outputsFor(outputs: readonly CtxOutput[]): TransferOutput[] {
  return outputs.map((o) => ({ ownerPubkey: o.owner, amount: o.sats }));
}
