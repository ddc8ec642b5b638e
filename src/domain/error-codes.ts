// The protocol's error codes: one table, never reused for another meaning. They travel in
// 31341 failure notices and in 31501 error replies; docs/protocol.md is checked against it.

export const ERROR_CODES = {
  // 1xxx bad input
  INVALID_SIGNATURE: { code: 1001, message: 'invalid signature or event id' },
  MALFORMED_CONTENT: { code: 1002, message: 'malformed content' },
  EXPIRED: { code: 1003, message: 'expired' },
  REPLAYED_ACTION: { code: 1004, message: 'action_id already used by this author' },
  UNKNOWN_TYPE: { code: 1005, message: 'unknown type or action' },
  NOT_ADDRESSED: { code: 1006, message: 'not addressed to this gateway' },
  UNSUPPORTED_ENCRYPTION: { code: 1007, message: 'unsupported encryption' },
  RATE_LIMITED: { code: 1008, message: 'rate limited' },
  // 2xxx ledger
  INSUFFICIENT_BALANCE: { code: 2001, message: 'insufficient balance' },
  VTXO_SPENT: { code: 2002, message: 'input VTXO already spent' },
  VTXO_UNKNOWN: { code: 2003, message: 'unknown VTXO or not owned' },
  BELOW_LIMITS: { code: 2004, message: 'below dust or outside limits' },
  // 3xxx ceremony and batch
  BATCH_INVALID: { code: 3001, message: 'batch validation failed' },
  CHALLENGE_RESPONSE_INVALID: { code: 3002, message: 'challenge response invalid' },
  SESSION_TIMEOUT: { code: 3003, message: 'session timed out' },
  CANCELLED: { code: 3004, message: 'cancelled' },
  // 4xxx fees
  FEE_INCORRECT: { code: 4001, message: 'fee missing or incorrect' },
  // 5xxx backends
  ARK_SERVER: { code: 5001, message: 'Ark server error' },
  TAPROOT_ASSETS: { code: 5002, message: 'Taproot Assets error' },
  LIGHTNING_PAYMENT_FAILED: { code: 5003, message: 'Lightning payment failed' },
  SERVICE_UNAVAILABLE: { code: 5004, message: 'service unavailable' },
} as const;

export type ErrorName = keyof typeof ERROR_CODES;
export type ErrorCode = (typeof ERROR_CODES)[ErrorName]['code'];

/** An error that crosses the protocol boundary with a stable numeric code. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(name: ErrorName, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERROR_CODES[name].message);
    this.name = 'ProtocolError';
    this.code = ERROR_CODES[name].code;
    this.details = details;
  }
}

/** The error a stored code stands for (a session that ended with it), with its stored message. */
export function errorFromCode(code: number | null, message?: string | null): ProtocolError {
  const name = (Object.keys(ERROR_CODES) as ErrorName[]).find((n) => ERROR_CODES[n].code === code);
  return new ProtocolError(name ?? 'SERVICE_UNAVAILABLE', message ?? undefined);
}
