// The simulated Ark server: its own key, real Ark and checkpoint PSBTs built with the SDK's
// `buildOffchainTx`, owners' BIP-340 signatures verified before anything is accepted, the
// server's co-signatures made with its key, double spends refused (an input is locked by the
// first submitted tx until it is finalized), pending txs kept for recovery. VTXOs of inventory
// batches hang from a commitment tx mined into the simulated chain. All of it persists in the
// shared world, so a restart keeps every VTXO and every pending tx. Outputs are judged by
// arkd's rules (../sim/ark-outputs.ts), OP_RETURN outputs included; only taproot outputs become
// VTXOs.
import {
  buildOffchainTx,
  CSVMultisigTapscript,
  DefaultVtxo,
  MultisigTapscript,
  Transaction,
  decodeTapscript,
  type ArkTxInput,
} from '@arkade-os/sdk';
import { hex } from '@scure/base';
import { opReturnScript } from '../../domain/allocation-commitment.ts';
import {
  ANCHOR_OUTPUT,
  isAnchor,
  isOpReturn,
  isP2tr,
  outputsProblem,
  type OutputLimits,
  type TxOutput,
} from '../sim/ark-outputs.ts';
import { SimBackend } from '../sim/sim-backend.ts';
import { isXOnlyKey } from '../sim/keys.ts';
import type { Row, SimWorld } from '../sim/world.ts';
import type { Unsubscribe } from '../types.ts';
import type {
  ArkBackend,
  ArkServerInfo,
  ArkTxEvent,
  ArkVtxo,
  BuildOptions,
  BuiltTransfer,
  ChainTip,
  CommitmentAnchor,
  InventoryBatch,
  InventoryBatchRequest,
  Outpoint,
  PendingTxLookup,
  SignatureSlot,
  SubmittedTx,
  TransferInput,
  TransferOutput,
  VtxoFilter,
  VtxoScriptInfo,
} from './ark-backend.ts';
import { inventoryKeyProblem } from './inventory-key.ts';
import { encodePsbt, parsePsbt, signInputs, verifyInputSignatures } from './psbt.ts';

const DUST = 330n;
const EXIT_DELAY = { type: 'blocks', value: 144n } as const;
const BATCH_EXPIRY_SECONDS = 7n * 24n * 3600n;
const ADDRESS_PREFIX = 'tark';
const MAX_BATCH = 10_000;
/** arkd's default max_op_return_outputs. */
const MAX_OP_RETURN_OUTPUTS = 3;
const LIMITS: OutputLimits = { dust: DUST, vtxoMaxAmount: -1n, maxOpReturnOutputs: MAX_OP_RETURN_OUTPUTS };

const outpointKey = (o: Outpoint) => `${o.txid}:${o.vout}`;

export class ArkSimulator extends SimBackend implements ArkBackend {
  readonly name = 'arkd' as const;
  readonly #server = this.world.keys.arkServer;
  readonly #checkpointScript = CSVMultisigTapscript.encode({
    timelock: EXIT_DELAY,
    pubkeys: [this.world.keys.arkServer.xOnly],
  });

  constructor(world: SimWorld) {
    super(world);
  }

  getInfo(): Promise<ArkServerInfo> {
    return this.call('getInfo', () => ({
      signerPubkey: this.#server.xOnlyHex,
      network: 'regtest',
      dust: DUST,
      unilateralExitDelay: EXIT_DELAY,
      boardingExitDelay: { type: 'blocks', value: 288n },
      checkpointTapscript: hex.encode(this.#checkpointScript.script),
      fees: {
        txFeeRate: '',
        intent: { offchainInput: '', offchainOutput: '', onchainInput: '', onchainOutput: '' },
      },
      vtxoMinAmount: DUST,
      vtxoMaxAmount: LIMITS.vtxoMaxAmount,
      batchExpirySeconds: BATCH_EXPIRY_SECONDS,
      maxOpReturnOutputs: MAX_OP_RETURN_OUTPUTS,
      version: 'arkrelay-sim/1',
    }));
  }

  /**
   * What buildTransfer built, by Ark txid (PSBTs, unsigned): SubmitTx checks a submitted tx
   * against this instead of building it again — the txids commit to every input and output, so
   * matching ids is the same check, without the taproot tweaks. A tx built elsewhere is rebuilt.
   */
  readonly #built = new Map<
    string,
    { readonly arkPsbt: string; readonly checkpointPsbts: readonly string[] }
  >();

  /** Building a VTXO script costs a few taproot tweaks: each owner's is built once. */
  readonly #scripts = new Map<string, DefaultVtxo.Script>();

  #script(owner: string): DefaultVtxo.Script {
    if (!isXOnlyKey(owner)) this.fail('rejected', `not an x-only public key: ${owner}`);
    let script = this.#scripts.get(owner);
    if (!script) {
      script = new DefaultVtxo.Script({
        pubKey: hex.decode(owner),
        serverPubKey: this.#server.xOnly,
        csvTimelock: EXIT_DELAY,
      });
      if (this.#scripts.size >= 10_000) this.#scripts.clear();
      this.#scripts.set(owner, script);
    }
    return script;
  }

  #remember(owner: string, script: DefaultVtxo.Script): string {
    const pkScript = hex.encode(script.pkScript);
    this.world.run('INSERT OR IGNORE INTO scripts (script, owner) VALUES (?, ?)', pkScript, owner);
    return pkScript;
  }

  vtxoScript(ownerPubkey: string): Promise<VtxoScriptInfo> {
    return this.call('vtxoScript', () => {
      const script = this.#script(ownerPubkey);
      return {
        ownerPubkey,
        pkScript: this.#remember(ownerPubkey, script),
        address: script.address(ADDRESS_PREFIX, this.#server.xOnly).encode(),
      };
    });
  }

  #vtxoRow(outpoint: Outpoint): Row | undefined {
    return this.world.get('SELECT * FROM vtxos WHERE outpoint = ?', outpointKey(outpoint));
  }

  #toVtxo(row: Row): ArkVtxo {
    return {
      outpoint: { txid: String(row.txid), vout: Number(row.vout) },
      script: String(row.script),
      amount: BigInt(String(row.amount)),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      spent: row.spent_by !== null,
      ...(row.spent_by !== null ? { spentBy: String(row.spent_by) } : {}),
      ...(row.spent_by === null && row.pending_by !== null ? { pendingBy: String(row.pending_by) } : {}),
      createdBy: String(row.created_by),
      preconfirmed: Number(row.preconfirmed) === 1,
      swept: Number(row.swept) === 1,
    };
  }

  /**
   * The SDK's builder over the world's view of the inputs; submit rebuilds with it to compare.
   * `outputs` are every output but the anchor, which the builder appends.
   */
  #build(inputs: readonly { row: Row; owner: string }[], outputs: readonly TxOutput[]) {
    const arkInputs: ArkTxInput[] = inputs.map(({ row, owner }) => {
      const script = this.#script(owner);
      if (hex.encode(script.pkScript) !== row.script) {
        this.fail('rejected', `VTXO ${String(row.outpoint)} is not locked to ${owner}`);
      }
      return {
        txid: String(row.txid),
        vout: Number(row.vout),
        value: Number(BigInt(String(row.amount))),
        tapLeafScript: script.forfeit(),
        tapTree: script.encode(),
      };
    });
    // The SDK's builder takes at most 2 OP_RETURN outputs, arkd (and so this server) 3: they go
    // in as placeholders and get their scripts once built (nothing is signed yet).
    const built = buildOffchainTx(
      arkInputs,
      outputs.map((o) => (isOpReturn(o.script) ? { ...ANCHOR_OUTPUT, amount: o.amount } : o)),
      this.#checkpointScript,
    );
    outputs.forEach((o, i) => {
      if (isOpReturn(o.script)) built.arkTx.updateOutput(i, { script: o.script });
    });
    return built;
  }

  #spendable(outpoint: Outpoint, byTx?: string): Row {
    const row = this.#vtxoRow(outpoint);
    if (!row) this.fail('not_found', `unknown VTXO ${outpointKey(outpoint)}`);
    if (row.spent_by !== null) this.fail('already_spent', `VTXO ${outpointKey(outpoint)} is already spent`);
    if (row.pending_by !== null && row.pending_by !== byTx) {
      this.fail(
        'already_spent',
        `VTXO ${outpointKey(outpoint)} is spent by pending tx ${String(row.pending_by)}`,
      );
    }
    if (Number(row.swept) === 1) this.fail('already_spent', `VTXO ${outpointKey(outpoint)} was swept`);
    return row;
  }

  buildTransfer(
    inputs: readonly TransferInput[],
    outputs: readonly TransferOutput[],
    options: BuildOptions = {},
  ): Promise<BuiltTransfer> {
    return this.call('buildTransfer', () => {
      if (inputs.length === 0 || outputs.length === 0)
        this.fail('rejected', 'a transfer needs inputs and outputs');
      const seen = new Set<string>();
      const rows = inputs.map((input) => {
        const key = outpointKey(input.outpoint);
        if (seen.has(key)) this.fail('rejected', `input ${key} appears twice`);
        seen.add(key);
        const row = this.#spendable(input.outpoint);
        if (BigInt(String(row.amount)) !== input.amount) {
          this.fail('rejected', `VTXO ${key} holds ${String(row.amount)} sats, not ${input.amount}`);
        }
        return { row, owner: input.ownerPubkey };
      });
      const totalIn = inputs.reduce((sum, i) => sum + i.amount, 0n);
      const totalOut = outputs.reduce((sum, o) => sum + o.amount, 0n);
      if (totalIn !== totalOut) this.fail('rejected', `inputs carry ${totalIn} sats but outputs ${totalOut}`);
      const scripts = outputs.map((o) => {
        const script = this.#script(o.ownerPubkey);
        this.#remember(o.ownerPubkey, script);
        return script.pkScript;
      });
      const txOutputs: TxOutput[] = outputs.map((o, i) => ({ script: scripts[i]!, amount: o.amount }));
      if (options.opReturn) txOutputs.push({ script: this.#opReturn(options.opReturn), amount: 0n });
      // What SubmitTx would refuse is refused here already.
      const problem = outputsProblem([...txOutputs, ANCHOR_OUTPUT], LIMITS);
      if (problem) this.fail('rejected', problem);
      const { arkTx, checkpoints } = this.#build(rows, txOutputs);
      const signatures: SignatureSlot[] = [
        ...inputs.map((input, i) => ({
          tx: 'ark' as const,
          checkpoint: 0,
          inputIndex: i,
          pubkey: input.ownerPubkey,
        })),
        ...inputs.map((input, i) => ({
          tx: 'checkpoint' as const,
          checkpoint: i,
          inputIndex: 0,
          pubkey: input.ownerPubkey,
        })),
      ];
      const arkPsbt = encodePsbt(arkTx);
      const checkpointPsbts = checkpoints.map(encodePsbt);
      if (this.#built.size >= 1_000) this.#built.delete(this.#built.keys().next().value!);
      this.#built.set(arkTx.id, { arkPsbt, checkpointPsbts });
      return {
        arkTxid: arkTx.id,
        arkPsbt,
        checkpointPsbts,
        inputs: [...inputs],
        outputs: outputs.map((o, i) => ({ ...o, vout: i, pkScript: hex.encode(scripts[i]!) })),
        ...(options.opReturn ? { opReturnVout: outputs.length } : {}),
        signatures,
      };
    });
  }

  #opReturn(data: Uint8Array): Uint8Array {
    try {
      return opReturnScript(data);
    } catch (error) {
      this.fail('rejected', `OP_RETURN: ${(error as Error).message}`);
    }
  }

  /** The owner of a VTXO: known from its script, else read from the forfeit leaf the PSBT spends. */
  #ownerOf(row: Row, checkpoint: Transaction): string {
    const known = this.world.get('SELECT owner FROM scripts WHERE script = ?', String(row.script));
    if (known) return String(known.owner);
    for (const [, leaf] of checkpoint.getInput(0).tapLeafScript ?? []) {
      try {
        const decoded = decodeTapscript(leaf.subarray(0, -1));
        if (!MultisigTapscript.is(decoded)) continue;
        const others = decoded.params.pubkeys
          .map((k) => hex.encode(k))
          .filter((k) => k !== this.#server.xOnlyHex);
        if (others.length === 1) return others[0]!;
      } catch {
        // not a leaf this server knows; try the next one
      }
    }
    this.fail('rejected', `cannot tell who owns VTXO ${String(row.outpoint)}`);
  }

  #parse(psbt: string, what: string): Transaction {
    try {
      return parsePsbt(psbt);
    } catch {
      this.fail('rejected', `${what} is not a valid PSBT`);
    }
  }

  submitTx(signedArkPsbt: string, checkpointPsbts: readonly string[]): Promise<SubmittedTx> {
    return this.call('submitTx', () => {
      const arkTx = this.#parse(signedArkPsbt, 'the Ark tx');
      const checkpoints = checkpointPsbts.map((p, i) => this.#parse(p, `checkpoint ${i}`));
      const arkTxid = arkTx.id;
      const existing = this.world.get('SELECT * FROM ark_txs WHERE txid = ?', arkTxid);
      if (existing) {
        if (existing.state === 'finalized') this.fail('already_spent', `tx ${arkTxid} is already finalized`);
        return this.#submitted(existing);
      }
      if (checkpoints.length !== arkTx.inputsLength) {
        this.fail(
          'rejected',
          `${arkTx.inputsLength} inputs need ${arkTx.inputsLength} checkpoints, got ${checkpoints.length}`,
        );
      }
      // The structure must be exactly what this server builds for these inputs and outputs.
      const inputs = checkpoints.map((cp) => {
        const prev = cp.getInput(0);
        if (!prev.txid || prev.index === undefined) this.fail('rejected', 'a checkpoint has no input');
        const outpoint = { txid: hex.encode(prev.txid), vout: prev.index };
        const row = this.#spendable(outpoint);
        return { outpoint, row, owner: this.#ownerOf(row, cp) };
      });
      const all: TxOutput[] = [];
      for (let i = 0; i < arkTx.outputsLength; i++) {
        const out = arkTx.getOutput(i);
        if (!out.script || out.amount === undefined) this.fail('rejected', `output ${i} is incomplete`);
        all.push({ script: out.script, amount: out.amount });
      }
      const problem = outputsProblem(all, LIMITS);
      if (problem) this.fail('rejected', problem);
      // The builder appends the anchor itself; a tx with it anywhere else differs from the rebuild.
      const outputs = all.filter((o) => !isAnchor(o.script));
      const cached = this.#built.get(arkTxid);
      const rebuilt = cached
        ? { arkTx: parsePsbt(cached.arkPsbt), checkpoints: cached.checkpointPsbts.map(parsePsbt) }
        : this.#build(
            inputs.map(({ row, owner }) => ({ row, owner })),
            outputs,
          );
      if (rebuilt.arkTx.id !== arkTxid || rebuilt.checkpoints.some((cp, i) => cp.id !== checkpoints[i]!.id)) {
        this.fail(
          'rejected',
          'the Ark tx or its checkpoints differ from what this server builds for those inputs and outputs',
        );
      }
      // Every owner must have signed its input of the Ark tx (BIP-340 over the BIP-341 sighash).
      inputs.forEach(({ owner }, i) => {
        try {
          verifyInputSignatures(arkTx, i, [owner]);
        } catch (error) {
          this.fail('invalid_signature', `input ${i} of the Ark tx: ${(error as Error).message}`);
        }
      });
      signInputs(
        arkTx,
        this.#server.privateKey,
        inputs.map((_, i) => i),
      );
      for (const cp of rebuilt.checkpoints) signInputs(cp, this.#server.privateKey, [0]);
      const row = this.world.tx(() => {
        for (const { outpoint } of inputs) {
          const locked = this.world.run(
            'UPDATE vtxos SET pending_by = ? WHERE outpoint = ? AND spent_by IS NULL AND pending_by IS NULL',
            arkTxid,
            outpointKey(outpoint),
          );
          if (locked.changes !== 1)
            this.fail('already_spent', `VTXO ${outpointKey(outpoint)} was spent meanwhile`);
        }
        this.world.run(
          'INSERT INTO ark_txs (txid, state, final_ark_psbt, checkpoints, inputs, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          arkTxid,
          'pending',
          encodePsbt(arkTx),
          JSON.stringify(rebuilt.checkpoints.map(encodePsbt)),
          JSON.stringify(inputs.map(({ outpoint, owner }) => ({ ...outpoint, owner }))),
          this.world.nowSeconds(),
        );
        return this.world.get('SELECT * FROM ark_txs WHERE txid = ?', arkTxid)!;
      });
      return this.#submitted(row);
    });
  }

  #submitted(row: Row): SubmittedTx {
    return {
      arkTxid: String(row.txid),
      finalArkPsbt: String(row.final_ark_psbt),
      signedCheckpointPsbts: JSON.parse(String(row.checkpoints)) as string[],
    };
  }

  finalizeTx(arkTxid: string, finalCheckpointPsbts: readonly string[]): Promise<void> {
    return this.call('finalizeTx', () => {
      const row = this.world.get('SELECT * FROM ark_txs WHERE txid = ?', arkTxid);
      if (!row) this.fail('not_found', `no pending tx ${arkTxid}`);
      if (row.state === 'finalized') return;
      const stored = JSON.parse(String(row.checkpoints)) as string[];
      const inputs = JSON.parse(String(row.inputs)) as (Outpoint & { owner: string })[];
      if (finalCheckpointPsbts.length !== stored.length) {
        this.fail(
          'rejected',
          `tx ${arkTxid} has ${stored.length} checkpoints, got ${finalCheckpointPsbts.length}`,
        );
      }
      finalCheckpointPsbts.forEach((psbt, i) => {
        const cp = this.#parse(psbt, `checkpoint ${i}`);
        if (cp.id !== parsePsbt(stored[i]!).id)
          this.fail('rejected', `checkpoint ${i} is not the one submitted`);
        try {
          verifyInputSignatures(cp, 0, [inputs[i]!.owner, this.#server.xOnlyHex]);
        } catch (error) {
          this.fail('invalid_signature', `checkpoint ${i}: ${(error as Error).message}`);
        }
      });
      const arkTx = parsePsbt(String(row.final_ark_psbt));
      const now = this.world.nowSeconds();
      const event = this.world.tx(() => {
        const current = this.world.get('SELECT state FROM ark_txs WHERE txid = ?', arkTxid);
        if (current?.state === 'finalized') return undefined;
        let expiresAt = Number.MAX_SAFE_INTEGER;
        for (const input of inputs) {
          const vtxo = this.#vtxoRow(input)!;
          expiresAt = Math.min(expiresAt, Number(vtxo.expires_at));
          this.world.run(
            'UPDATE vtxos SET spent_by = ?, pending_by = NULL WHERE outpoint = ?',
            arkTxid,
            outpointKey(input),
          );
        }
        const created: ArkVtxo[] = [];
        for (let vout = 0; vout < arkTx.outputsLength; vout++) {
          const out = arkTx.getOutput(vout);
          // As arkd: anchors and OP_RETURN outputs never become VTXOs.
          if (!isP2tr(out.script!)) continue;
          const script = hex.encode(out.script!);
          const owner = this.world.get('SELECT owner FROM scripts WHERE script = ?', script)?.owner ?? null;
          this.world.run(
            `INSERT INTO vtxos (outpoint, txid, vout, owner, script, amount, created_at, expires_at, created_by, preconfirmed)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
            `${arkTxid}:${vout}`,
            arkTxid,
            vout,
            owner as string | null,
            script,
            out.amount!.toString(),
            now,
            expiresAt,
            arkTxid,
          );
          created.push(this.#toVtxo(this.#vtxoRow({ txid: arkTxid, vout })!));
        }
        this.world.run(
          "UPDATE ark_txs SET state = 'finalized', finalized_at = ? WHERE txid = ?",
          now,
          arkTxid,
        );
        const ev: ArkTxEvent = {
          type: 'ark_tx',
          txid: arkTxid,
          spent: inputs.map(({ txid, vout }) => ({ txid, vout })),
          created,
        };
        this.#emit(ev);
        return ev;
      });
      if (event) this.world.notify();
    });
  }

  getPendingTx(arkTxid: string, inputs: readonly Outpoint[]): Promise<PendingTxLookup> {
    return this.call('getPendingTx', () => {
      let row = this.world.get('SELECT * FROM ark_txs WHERE txid = ?', arkTxid);
      if (!row) {
        // As arkd: the pending tx that spends these inputs, whatever its id.
        for (const input of inputs) {
          const pendingBy = this.#vtxoRow(input)?.pending_by;
          if (pendingBy) {
            row = this.world.get('SELECT * FROM ark_txs WHERE txid = ?', String(pendingBy));
            break;
          }
        }
      }
      if (!row) return { state: 'unknown' };
      if (row.state === 'finalized') return { state: 'finalized', arkTxid: String(row.txid) };
      return { state: 'pending', ...this.#submitted(row) };
    });
  }

  listVtxos(filter: VtxoFilter): Promise<ArkVtxo[]> {
    return this.call('listVtxos', () => {
      const scripts = filter.scripts ?? [];
      const outpoints = (filter.outpoints ?? []).map(outpointKey);
      if (scripts.length === 0 && outpoints.length === 0) this.fail('rejected', 'give scripts or outpoints');
      const clauses: string[] = [];
      if (scripts.length > 0) clauses.push(`script IN (${scripts.map(() => '?').join(',')})`);
      if (outpoints.length > 0) clauses.push(`outpoint IN (${outpoints.map(() => '?').join(',')})`);
      const spendable = filter.spendableOnly
        ? ' AND spent_by IS NULL AND pending_by IS NULL AND swept = 0'
        : '';
      return this.world
        .all(
          `SELECT * FROM vtxos WHERE (${clauses.join(' OR ')})${spendable} ORDER BY created_at, outpoint`,
          ...scripts,
          ...outpoints,
        )
        .map((row) => this.#toVtxo(row));
    });
  }

  createInventoryBatch(request: InventoryBatchRequest): Promise<InventoryBatch> {
    return this.call('createInventoryBatch', () => {
      const { amounts } = request;
      const keyProblem = inventoryKeyProblem(request);
      if (keyProblem) this.fail('rejected', `createInventoryBatch: ${keyProblem}`);
      if (amounts.length === 0 || amounts.length > MAX_BATCH)
        this.fail('rejected', `a batch holds 1 to ${MAX_BATCH} VTXOs`);
      for (const amount of amounts)
        if (amount < DUST) this.fail('rejected', `VTXO of ${amount} sats is below dust`);
      const script = this.#script(request.ownerPubkey);
      const pkScript = script.pkScript;
      return this.world.tx(() => {
        this.#remember(request.ownerPubkey, script);
        const tip = this.world.tip()!;
        // A commitment tx of the simulated chain: one funding input, one output per VTXO.
        const commitment = new Transaction({ allowUnknownInputs: true, allowUnknownOutputs: true });
        commitment.addInput({ txid: this.world.derive('funding', tip.height, tip.hash), index: 0 });
        for (const amount of amounts) commitment.addOutput({ script: pkScript, amount });
        const txid = commitment.id;
        const height = this.world.mine(1, [txid]);
        const now = this.world.nowSeconds();
        this.world.run(
          'INSERT INTO chain_txs (txid, kind, height, created_at) VALUES (?, ?, ?, ?)',
          txid,
          'commitment',
          height,
          now,
        );
        const insert = this.world.db.prepare(
          `INSERT INTO vtxos (outpoint, txid, vout, owner, script, amount, created_at, expires_at, created_by, preconfirmed)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
        );
        const expiresAt = now + Number(BATCH_EXPIRY_SECONDS);
        amounts.forEach((amount, vout) =>
          insert.run(
            `${txid}:${vout}`,
            txid,
            vout,
            request.ownerPubkey,
            hex.encode(pkScript),
            amount.toString(),
            now,
            expiresAt,
            txid,
          ),
        );
        const vtxos = this.world
          .all('SELECT * FROM vtxos WHERE txid = ? ORDER BY vout', txid)
          .map((row) => this.#toVtxo(row));
        this.#emit({ type: 'commitment_tx', txid, spent: [], created: vtxos });
        queueMicrotask(() => this.world.notify());
        return { commitmentTxid: txid, vtxos };
      });
    });
  }

  getChainTip(): Promise<ChainTip> {
    return this.call('getChainTip', () => this.world.tip()!);
  }

  getCommitmentAnchor(): Promise<CommitmentAnchor | undefined> {
    return this.call('getCommitmentAnchor', () => {
      const row = this.world.get(
        "SELECT txid, height FROM chain_txs WHERE kind = 'commitment' ORDER BY height DESC LIMIT 1",
      );
      return row ? { txid: String(row.txid), blockHeight: Number(row.height) } : undefined;
    });
  }

  #emit(event: ArkTxEvent): void {
    this.world.run(
      'INSERT INTO ark_events (payload) VALUES (?)',
      JSON.stringify(event, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
    );
  }

  subscribeTransactions(onEvent: (event: ArkTxEvent) => void, onError?: (error: Error) => void): Unsubscribe {
    let last = Number(this.world.get('SELECT COALESCE(MAX(seq), 0) AS seq FROM ark_events')?.seq ?? 0);
    const poll = () => {
      if (this.world.closed) return;
      try {
        for (const row of this.world.all(
          'SELECT seq, payload FROM ark_events WHERE seq > ? ORDER BY seq',
          last,
        )) {
          last = Number(row.seq);
          onEvent(
            JSON.parse(String(row.payload), (_, v: unknown) =>
              typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
            ) as ArkTxEvent,
          );
        }
      } catch (error) {
        stop();
        onError?.(error as Error);
      }
    };
    const stop = this.world.watch(poll);
    return stop;
  }
}
