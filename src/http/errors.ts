// Stable error codes of the HTTP API. Clients branch on `error.code`, never on the message.
export const HTTP_ERROR = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERROR;

export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly statusCode: number;
  constructor(code: HttpErrorCode, message: string) {
    super(message);
    this.code = code;
    this.statusCode = HTTP_ERROR[code];
  }
}

export interface ErrorBody {
  readonly error: { readonly code: HttpErrorCode; readonly message: string };
}
