// A deliberately naive signer for the gateway's negative tests: it signs whatever digests a
// challenge lists, without checking anything (the reference wallet in src/wallet/ checks). It
// lets a test answer wrongly on purpose — another key, a wrong digest, too late.
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { finalizeEvent, nip44, type Event } from 'nostr-tools';
import { queryRelay } from '../support/relay-query.ts';
import type { Wallet } from '../nostr/support.ts';

export interface Challenge {
  readonly event: Event;
  readonly body: {
    session_id: string;
    step: number;
    payload_ref: string;
    sighashes: { input_index: number; digest: string; psbt_index: number }[];
    context: Record<string, unknown>;
    expires_at: number;
    psbt?: string;
    psbts?: string[];
  };
}

/** Every 31511 the relay holds for the wallet, decrypted, oldest first. */
export async function challenges(url: string, wallet: Wallet): Promise<Challenge[]> {
  const events = await queryRelay(url, { kinds: [31511], '#p': [wallet.pubkey] });
  return events
    .sort((a, b) => a.created_at - b.created_at)
    .map((event) => ({ event, body: JSON.parse(wallet.decrypt(event.pubkey, event.content).plaintext) }));
}

export interface AnswerOptions {
  /** Sign with this key instead of the wallet's (the response is still sent by the wallet). */
  readonly signWith?: Uint8Array;
  /** Replace each digest before signing. */
  readonly digest?: (digest: string) => string;
  readonly payloadRef?: string;
  /** Send the response from another wallet. */
  readonly from?: Wallet;
}

export function response(
  wallet: Wallet,
  gateway: string,
  challenge: Challenge,
  options: AnswerOptions = {},
): Event {
  const signer = options.signWith ?? wallet.secret;
  const from = options.from ?? wallet;
  const body = {
    session_id: challenge.body.session_id,
    step: challenge.body.step,
    payload_ref: options.payloadRef ?? challenge.body.payload_ref,
    signatures: challenge.body.sighashes.map((s) => ({
      input_index: s.input_index,
      psbt_index: s.psbt_index,
      sig: bytesToHex(schnorr.sign(hexToBytes(options.digest ? options.digest(s.digest) : s.digest), signer)),
    })),
  };
  return finalizeEvent(
    {
      kind: 31512,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['p', gateway],
        ['e', challenge.event.id],
        ['d', `${challenge.body.session_id}:${challenge.body.step}:response`],
      ],
      content: nip44.encrypt(JSON.stringify(body), nip44.getConversationKey(from.secret, gateway)),
    },
    from.secret,
  );
}
