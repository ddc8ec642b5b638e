// Counts the crypto operations of the gateway process, in the bench only. Two ways in:
//  - a module load hook (node:module registerHooks) rewrites the libraries that export what the
//    gateway calls through ESM bindings nobody can patch afterwards: tiny-secp256k1's
//    signSchnorr/verifySchnorr, every copy of @noble/curves' `schnorr` (ours, the Ark SDK's,
//    nostr-tools': sign, verify, getPublicKey), @scure/btc-signer's taprootTweakPubkey (the EC
//    tweak of every P2TR script built) and nostr-tools' getEventHash (the sha256 of an event id);
//  - plain property patches for what is reached through a mutable object at call time: NIP-44
//    (nip44.v2.encrypt/decrypt), the BIP-341 sighash (Transaction#preimageWitnessV1 of the Ark
//    SDK), ECDH (node:crypto ECDH#computeSecret) and the embedded relay's own verify and id hash
//    (@nostr-relay/common crypto.util, CommonJS exports).
// installCryptoCounter() must run before anything imports those libraries (import the gateway
// dynamically afterwards). Counting is off until `counter.enabled = true`; while it is on, each
// call is attributed to a component by its stack (the simulated arkd, the embedded relay, or
// the gateway itself), which costs a stack capture — so throughput is measured with it off.
import { createRequire, registerHooks } from 'node:module';

export type Component = 'gateway' | 'arkd-sim' | 'relay';
export const COMPONENTS: readonly Component[] = ['gateway', 'arkd-sim', 'relay'];

export type Op =
  | 'schnorr_sign_tiny'
  | 'schnorr_verify_tiny'
  | 'schnorr_sign_noble'
  | 'schnorr_verify_noble'
  | 'schnorr_verify_relay'
  | 'event_id_sha256'
  | 'event_id_sha256_relay'
  | 'nip44_encrypt'
  | 'nip44_decrypt'
  | 'ecdh'
  | 'bip341_sighash'
  | 'schnorr_pubkey_noble'
  | 'taproot_tweak';

export interface CryptoCounter {
  enabled: boolean;
  readonly counts: Map<Component, Map<Op, number>>;
  /** Plaintext bytes through NIP-44 (to size the unit micro-benchmark like the real traffic). */
  readonly nip44Bytes: { encrypt: number; decrypt: number };
  /** Event JSON bytes hashed for ids (same reason). */
  eventIdBytes: number;
  /** One real sighash call (its transaction and arguments), for the unit micro-benchmark. */
  sampleSighash: { tx: object; args: unknown[] } | undefined;
  reset(): void;
  count(op: Op, component?: Component): void;
}

type Global = typeof globalThis & { __benchCryptoCount?: (op: Op) => void };

function componentOfStack(): Component {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 60;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = saved;
  if (stack.includes('backends/ark/simulator.ts') || stack.includes('backends/sim/')) return 'arkd-sim';
  if (stack.includes('@nostr-relay') || stack.includes('nostr/embedded-relay.ts')) return 'relay';
  return 'gateway';
}

function createCounter(): CryptoCounter {
  const counter: CryptoCounter = {
    enabled: false,
    counts: new Map(),
    nip44Bytes: { encrypt: 0, decrypt: 0 },
    eventIdBytes: 0,
    sampleSighash: undefined,
    reset() {
      counter.counts.clear();
      counter.nip44Bytes.encrypt = 0;
      counter.nip44Bytes.decrypt = 0;
      counter.eventIdBytes = 0;
    },
    count(op, component) {
      if (!counter.enabled) return;
      const where = component ?? componentOfStack();
      let ops = counter.counts.get(where);
      if (!ops) counter.counts.set(where, (ops = new Map()));
      ops.set(op, (ops.get(op) ?? 0) + 1);
    },
  };
  return counter;
}

/** Renames `function NAME(` (exported or not) and appends a counting wrapper under the old name. */
function wrapFunction(source: string, name: string, op: Op, exported: boolean): string {
  const declaration = exported ? `export function ${name}(` : `function ${name}(`;
  if (!source.includes(declaration)) throw new Error(`crypto counter: ${name} not found`);
  return (
    source.replace(declaration, `function ${name}__counted(`) +
    `\n${exported ? 'export ' : ''}function ${name}(...args) { globalThis.__benchCryptoCount?.('${op}'); return ${name}__counted(...args); }\n`
  );
}

function transform(url: string, source: string): string {
  if (/\/tiny-secp256k1\/lib\/index\.js$/.test(url)) {
    return wrapFunction(
      wrapFunction(source, 'signSchnorr', 'schnorr_sign_tiny', true),
      'verifySchnorr',
      'schnorr_verify_tiny',
      true,
    );
  }
  if (/\/@noble\/curves\/secp256k1\.js$/.test(url) && source.includes('export const schnorr = ')) {
    return (
      source.replace('export const schnorr = ', 'const schnorr__counted = ') +
      `\nexport const schnorr = Object.freeze({ ...schnorr__counted,
        sign: (...a) => { globalThis.__benchCryptoCount?.('schnorr_sign_noble'); return schnorr__counted.sign(...a); },
        verify: (...a) => { globalThis.__benchCryptoCount?.('schnorr_verify_noble'); return schnorr__counted.verify(...a); },
        getPublicKey: (...a) => { globalThis.__benchCryptoCount?.('schnorr_pubkey_noble'); return schnorr__counted.getPublicKey(...a); } });\n`
    );
  }
  if (
    /\/@scure\/btc-signer\/utils\.js$/.test(url) &&
    source.includes('export function taprootTweakPubkey(')
  ) {
    return wrapFunction(source, 'taprootTweakPubkey', 'taproot_tweak', true);
  }
  if (/\/nostr-tools\/lib\/esm\/pure\.js$/.test(url)) {
    return wrapFunction(source, 'getEventHash', 'event_id_sha256', false);
  }
  return source;
}

let installed: CryptoCounter | undefined;

/** Installs the load hook (once) and returns the process-wide counter. */
export function installCryptoCounter(): CryptoCounter {
  if (installed) return installed;
  const counter = createCounter();
  (globalThis as Global).__benchCryptoCount = (op) => counter.count(op);
  registerHooks({
    load(url, context, nextLoad) {
      const result = nextLoad(url, context);
      if (result.format !== 'module' || result.source === undefined || result.source === null) return result;
      const text =
        typeof result.source === 'string'
          ? result.source
          : Buffer.from(result.source as Uint8Array).toString();
      const changed = transform(url, text);
      return changed === text ? result : { ...result, source: changed };
    },
  });
  installed = counter;
  return counter;
}

/** The property patches; call after installCryptoCounter, before the gateway starts. */
export async function patchRuntimeCrypto(counter: CryptoCounter): Promise<void> {
  const nip44 = await import('nostr-tools/nip44');
  const v2 = nip44.v2 as {
    encrypt: (p: string, k: Uint8Array, n?: Uint8Array) => string;
    decrypt: (c: string, k: Uint8Array) => string;
  };
  const encrypt = v2.encrypt;
  const decrypt = v2.decrypt;
  v2.encrypt = (plaintext, key, nonce) => {
    if (counter.enabled) counter.nip44Bytes.encrypt += Buffer.byteLength(plaintext);
    counter.count('nip44_encrypt');
    return encrypt(plaintext, key, nonce);
  };
  v2.decrypt = (payload, key) => {
    counter.count('nip44_decrypt');
    const plaintext = decrypt(payload, key);
    if (counter.enabled) counter.nip44Bytes.decrypt += Buffer.byteLength(plaintext);
    return plaintext;
  };

  const crypto = await import('node:crypto');
  const ecdhProto = crypto.ECDH.prototype as { computeSecret: (...a: unknown[]) => unknown };
  const computeSecret = ecdhProto.computeSecret;
  ecdhProto.computeSecret = function (this: unknown, ...args: unknown[]) {
    counter.count('ecdh');
    return computeSecret.apply(this, args);
  };

  const { Transaction } = await import('@arkade-os/sdk');
  type Proto = { preimageWitnessV1?: (...a: unknown[]) => unknown };
  let proto = Transaction.prototype as unknown as Proto | null;
  while (proto && !Object.prototype.hasOwnProperty.call(proto, 'preimageWitnessV1'))
    proto = Object.getPrototypeOf(proto) as Proto | null;
  const owner = proto;
  if (!owner?.preimageWitnessV1) throw new Error('crypto counter: preimageWitnessV1 not found');
  const preimage = owner.preimageWitnessV1;
  owner.preimageWitnessV1 = function (this: object, ...args: unknown[]) {
    counter.count('bip341_sighash');
    if (counter.enabled && !counter.sampleSighash) counter.sampleSighash = { tx: this, args };
    return preimage.apply(this, args);
  };

  // The embedded relay (CommonJS): its event.util calls crypto_util.schnorrVerify / sha256 through
  // the exports object, so replacing the properties reaches every call.
  const require = createRequire(import.meta.url);
  const relayCrypto = require('@nostr-relay/common/dist/utils/crypto.util.js') as {
    schnorrVerify: (...a: unknown[]) => boolean;
    sha256: (message: unknown) => string;
  };
  const relayVerify = relayCrypto.schnorrVerify;
  const relaySha = relayCrypto.sha256;
  relayCrypto.schnorrVerify = (...args) => {
    counter.count('schnorr_verify_relay', 'relay');
    return relayVerify(...args);
  };
  relayCrypto.sha256 = (message) => {
    counter.count('event_id_sha256_relay', 'relay');
    return relaySha(message);
  };
}
