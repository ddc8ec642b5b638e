// BOLT11 payment requests: decoding any network's invoice into the interface's shape, and
// encoding + signing one with a node key (the simulator's nodes issue real, signed invoices).
import bolt11 from 'bolt11';
import type { DecodedPaymentRequest } from './lightning-backend.ts';

interface Bolt11Network {
  bech32: string;
  pubKeyHash: number;
  scriptHash: number;
  validWitnessVersions: number[];
}

// Longest prefix first: lnbcrt before lnbc, lntbs before lntb.
const NETWORKS: readonly (readonly [string, string, Bolt11Network])[] = [
  ['lnbcrt', 'regtest', { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] }],
  ['lntbs', 'signet', { bech32: 'tbs', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] }],
  ['lntb', 'testnet', { bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] }],
  ['lnbc', 'bitcoin', { bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, validWitnessVersions: [0, 1] }],
];

function networkOf(request: string): readonly [string, string, Bolt11Network] {
  const lower = request.toLowerCase();
  const match = NETWORKS.find(([prefix]) => lower.startsWith(prefix));
  if (!match) throw new Error('not a BOLT11 payment request (unknown prefix)');
  return match;
}

function tag(decoded: bolt11.PaymentRequestObject, name: string): unknown {
  return decoded.tags.find((t) => t.tagName === name)?.data;
}

/** Throws with a plain message when `request` is not a valid, signed BOLT11 string. */
export function decodeBolt11(request: string): DecodedPaymentRequest {
  const trimmed = request.trim().replace(/^lightning:/i, '');
  const [, name, network] = networkOf(trimmed);
  const decoded = bolt11.decode(trimmed, network);
  const paymentHash = tag(decoded, 'payment_hash');
  if (typeof paymentHash !== 'string' || !decoded.payeeNodeKey || decoded.timestamp === undefined) {
    throw new Error('payment request lacks a payment hash, payee or timestamp');
  }
  const expiry = Number(tag(decoded, 'expire_time') ?? 3600);
  const description = tag(decoded, 'description');
  const descriptionHash = tag(decoded, 'purpose_commit_hash');
  return {
    paymentHash,
    ...(decoded.millisatoshis ? { amountMsat: BigInt(decoded.millisatoshis) } : {}),
    destination: decoded.payeeNodeKey,
    network: name,
    createdAt: decoded.timestamp,
    expiresAt: decoded.timestamp + expiry,
    ...(typeof description === 'string' ? { description } : {}),
    ...(typeof descriptionHash === 'string' ? { descriptionHash } : {}),
    minFinalCltvExpiry: Number(tag(decoded, 'min_final_cltv_expiry') ?? 18),
  };
}

export interface Bolt11Fields {
  readonly network: 'regtest' | 'signet' | 'testnet' | 'bitcoin';
  readonly amountMsat: bigint;
  readonly paymentHash: string;
  readonly paymentSecret: string;
  readonly memo: string;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly expirySeconds: number;
}

/** A BOLT11 string signed by `nodePrivateKey` (hex); its payee key is that node's key. */
export function encodeBolt11(fields: Bolt11Fields, nodePrivateKey: string): string {
  const network = NETWORKS.find(([, name]) => name === fields.network)![2];
  const unsigned = bolt11.encode({
    network,
    millisatoshis: fields.amountMsat.toString(),
    timestamp: fields.timestamp,
    tags: [
      { tagName: 'payment_hash', data: fields.paymentHash },
      { tagName: 'payment_secret', data: fields.paymentSecret },
      { tagName: 'description', data: fields.memo },
      { tagName: 'expire_time', data: fields.expirySeconds },
      { tagName: 'min_final_cltv_expiry', data: 80 },
    ],
  });
  const signed = bolt11.sign(unsigned, nodePrivateKey);
  if (!signed.paymentRequest) throw new Error('bolt11 signing produced no payment request');
  return signed.paymentRequest;
}
