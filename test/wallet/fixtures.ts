// Real PSBTs for the wallet's tests, made by the simulated Ark server, and one-step (v1.1)
// challenges crafted the way docs/protocol.md says the gateway writes them: the Ark tx with its
// allocation commitment, then every checkpoint. The digests and the commitment come from the
// gateway's own helpers (src/backends/ark/psbt.ts, src/domain/allocation-commitment.ts): the wallet
// recomputes both with its own code, so the honest case passing shows the two agree.
import { createHash } from 'node:crypto';
import type { BuiltTransfer, Outpoint, TransferOutput } from '../../src/backends/ark/ark-backend.ts';
import { encodePsbt, parsePsbt, sighashesFor, signInputs } from '../../src/backends/ark/psbt.ts';
import { ArkSimulator } from '../../src/backends/ark/simulator.ts';
import { allocationCommitment, type AllocationCommitment } from '../../src/domain/allocation-commitment.ts';
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

/** What the gateway's ledger says a challenge does; vouts follow the order of `outputs`. */
export interface ChallengeSpec {
  readonly sessionId?: string;
  readonly intentActionId: string;
  readonly server: string;
  readonly inputs: readonly CtxInput[];
  readonly outputs: readonly CtxOutput[];
  readonly owner?: string;
  /** The context's commitment; default: the honest one of `outputs` and the action id. */
  readonly commitment?: { vout: number; hash: string; preimage: string };
}

const sha256hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** The gateway's commitment of an allocation (its own helper, not the wallet's). */
export function commitmentOf(
  actionIds: readonly string[],
  outputs: readonly CtxOutput[],
): AllocationCommitment {
  return allocationCommitment(
    actionIds,
    outputs.map((o, vout) => ({ vout, owner: o.owner, assetId: o.asset_id, amount: o.amount })),
  );
}

export const outputsFor = (outputs: readonly CtxOutput[]): TransferOutput[] =>
  outputs.map((o) => ({ ownerPubkey: o.owner, amount: o.sats }));

/**
 * The Ark tx of `inputs` → `psbtOutputs` with the OP_RETURN of `commitment` (default: the honest
 * commitment of `psbtOutputs` for `actionId`; null: none at all).
 */
export function buildTx(
  sim: Sim,
  inputs: readonly CtxInput[],
  psbtOutputs: readonly CtxOutput[],
  actionId: string,
  commitment: AllocationCommitment | null = commitmentOf([actionId], psbtOutputs),
): Promise<BuiltTransfer> {
  return sim.ark.buildTransfer(
    inputs.map((i) => ({ outpoint: outpoint(i.vtxo_id), ownerPubkey: i.owner, amount: i.sats })),
    outputsFor(psbtOutputs),
    commitment ? { opReturn: commitment.data } : {},
  );
}

function context(spec: ChallengeSpec, arkTxid: string) {
  const commitment = spec.commitment ?? commitmentOf([spec.intentActionId], spec.outputs);
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
    commitment: { vout: commitment.vout, hash: commitment.hash, preimage: commitment.preimage },
  };
}

/** Every slot `owner` owes, with the gateway's digests: its Ark inputs, then their checkpoints. */
export function gatewaySighashes(psbts: readonly string[], inputs: readonly CtxInput[], owner: string) {
  const ark = sighashesFor(parsePsbt(psbts[0]!), owner).map((s) => ({
    psbt_index: 0,
    input_index: s.inputIndex,
    digest: s.digest,
  }));
  const checkpoints = psbts.slice(1).flatMap((psbt, i) =>
    inputs[i]!.owner === owner
      ? sighashesFor(parsePsbt(psbt), owner).map((s) => ({
          psbt_index: 1 + i,
          input_index: s.inputIndex,
          digest: s.digest,
        }))
      : [],
  );
  return [...ark, ...checkpoints];
}

/** The one challenge (31511 content, as the wallet decrypts it) for `built`. */
export function challengeJson(built: BuiltTransfer, spec: ChallengeSpec): Record<string, unknown> {
  const psbts = [built.arkPsbt, ...built.checkpointPsbts];
  return {
    session_id: spec.sessionId ?? 'session-1',
    step: 1,
    step_total: 1,
    type: 'sign_ark_tx',
    psbts,
    sighashes: gatewaySighashes(psbts, spec.inputs, spec.owner ?? alice.pub),
    payload_ref: sha256hex(psbts.join('\n')),
    domain: 'ark_tx',
    context: context(spec, built.arkTxid),
    expires_at: Math.floor(Date.now() / 1000) + 120,
  };
}

/** The same challenge with other PSBTs, payload_ref and sighashes recomputed (a consistent liar). */
export function withPsbts(
  json: Record<string, unknown>,
  psbts: readonly string[],
  inputs: readonly CtxInput[],
  owner = alice.pub,
): Record<string, unknown> {
  return {
    ...json,
    psbts,
    sighashes: gatewaySighashes(psbts, inputs, owner),
    payload_ref: sha256hex(psbts.join('\n')),
  };
}
