// The inventory key arrives with each batch request (the gateway's secret, never stored or
// logged here): both implementations refuse a request whose secret does not belong to the
// owner key the new VTXOs are locked to, so a misconfigured key cannot mint unspendable inventory.
import { schnorr } from '@noble/curves/secp256k1.js';
import { hex } from '@scure/base';
import type { InventoryBatchRequest } from './ark-backend.ts';

/** Why the request's key pair is unusable, or undefined when the secret is ownerPubkey's. */
export function inventoryKeyProblem(request: InventoryBatchRequest): string | undefined {
  const secret = request.ownerSecretKey as Uint8Array | undefined;
  if (!(secret instanceof Uint8Array) || secret.length !== 32)
    return 'ownerSecretKey must be a 32-byte secp256k1 secret key';
  let pubkey: string;
  try {
    pubkey = hex.encode(schnorr.getPublicKey(secret));
  } catch {
    return 'ownerSecretKey is not a valid secp256k1 secret key';
  }
  if (pubkey !== request.ownerPubkey.toLowerCase())
    return `ownerSecretKey does not belong to ownerPubkey ${request.ownerPubkey}`;
  return undefined;
}
