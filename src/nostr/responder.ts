// Turns one claimed event into its reply events: 31500 → dispatch by action → 31501; the
// intake errors (not addressed, expired, too large) → 31501 or 31341 with the documented code.
// Runs inside a job (worker) or inline at intake for errors that need no handler.
import { ERROR_CODES, ProtocolError, type ErrorName } from '../domain/error-codes.ts';
import {
  KIND,
  detectScheme,
  firstTag,
  parseServiceRequest,
  type EncryptionScheme,
  type NostrEvent,
} from '../domain/nostr-protocol.ts';
import type { Logger } from '../logging.ts';
import type { AnyAction } from './handlers/index.ts';
import type { GatewayKey } from './keys.ts';
import type { Publisher } from './publisher.ts';

/** The signing ceremony, as intake sees it (src/ceremony/admission.ts and responses.ts). */
export interface CeremonyPort {
  /** Replies to publish for a 31510 (a 31341 when refused); accepted intents answer through their session. */
  onIntent(event: NostrEvent, key: GatewayKey): Promise<NostrEvent[]>;
  /** Replies to publish for a 31512 (a 31341 when refused). */
  onResponse(event: NostrEvent, key: GatewayKey): Promise<NostrEvent[]>;
}

export interface ResponderOptions {
  readonly publisher: Publisher;
  readonly actions: ReadonlyMap<string, AnyAction>;
  readonly allowNip04: boolean;
}

/** The scheme a reply to this event uses: the request's, unless NIP-04 is off. */
export function replyScheme(event: NostrEvent, allowNip04: boolean): EncryptionScheme {
  if (event.kind === KIND.ACTION_INTENT) return 'nip44';
  const scheme = detectScheme(event.content);
  return scheme === 'nip04' && !allowNip04 ? 'nip44' : scheme;
}

export class Responder {
  readonly #options: ResponderOptions;
  /** Set once the process has built its ceremony (it needs this core's publisher first). */
  ceremony: CeremonyPort | undefined;
  constructor(options: ResponderOptions) {
    this.#options = options;
  }

  /** The reply to an event refused before any handler ran. */
  rejection(event: NostrEvent, key: GatewayKey, error: ProtocolError): NostrEvent {
    const scheme = replyScheme(event, this.#options.allowNip04);
    const { publisher } = this.#options;
    if (event.kind === KIND.SERVICE_REQUEST) {
      const requestId = firstTag(event, 'd') ?? event.id;
      return publisher.serviceResponse(
        event,
        { request_id: requestId, status: 'error', error: { code: error.code, message: error.message } },
        { key, scheme },
      );
    }
    return publisher.failureNotice(
      event,
      {
        action_id: firstTag(event, 'd') ?? null,
        code: error.code,
        message: error.message,
        details: error.details ?? {},
      },
      { key, scheme },
    );
  }

  static error(name: ErrorName, message?: string): ProtocolError {
    return new ProtocolError(name, message ?? ERROR_CODES[name].message);
  }

  /** The replies to a claimed event. Throws (to be retried) only for unexpected failures. */
  async respond(
    event: NostrEvent,
    key: GatewayKey,
    ctx: { attempt: number; lastAttempt: boolean; logger: Logger; signal: AbortSignal },
  ): Promise<NostrEvent[]> {
    switch (event.kind) {
      case KIND.SERVICE_REQUEST:
        return [await this.#serviceRequest(event, key, ctx)];
      case KIND.ACTION_INTENT:
        if (this.ceremony) return this.ceremony.onIntent(event, key);
        // A process without the ceremony (it runs no ledger) cannot judge an intent: retry elsewhere.
        throw new Error('this process has no signing ceremony');
      case KIND.SIGNING_RESPONSE:
        if (this.ceremony) return this.ceremony.onResponse(event, key);
        throw new Error('this process has no signing ceremony');
      default:
        return [];
    }
  }

  async #serviceRequest(
    event: NostrEvent,
    key: GatewayKey,
    ctx: { attempt: number; lastAttempt: boolean; logger: Logger; signal: AbortSignal },
  ): Promise<NostrEvent> {
    const { publisher, actions, allowNip04 } = this.#options;
    const scheme = replyScheme(event, allowNip04);
    let requestId = firstTag(event, 'd') ?? event.id;
    try {
      if (detectScheme(event.content) === 'nip04' && !allowNip04) {
        throw Responder.error('UNSUPPORTED_ENCRYPTION', 'NIP-04 is turned off on this gateway: use NIP-44');
      }
      const { plaintext } = key.cipher.decrypt(event.pubkey, event.content);
      const request = parseServiceRequest(plaintext);
      requestId = request.request_id;
      const action = actions.get(request.action);
      if (!action) throw Responder.error('UNKNOWN_TYPE', `unknown action "${request.action}"`);
      const params = action.parse(request.params);
      const result = await action.handle(params, {
        author: event.pubkey,
        requestEventId: event.id,
        requestId,
        gatewayPubkey: key.pubkey,
        attempt: ctx.attempt,
        logger: ctx.logger,
        signal: ctx.signal,
      });
      return publisher.serviceResponse(
        event,
        { request_id: requestId, status: 'ok', result },
        { key, scheme },
      );
    } catch (error) {
      let failure: ProtocolError;
      if (error instanceof ProtocolError) failure = error;
      else if (ctx.lastAttempt) {
        ctx.logger.error({ err: error, event: event.id }, 'service request failed on its last attempt');
        failure = Responder.error('SERVICE_UNAVAILABLE', 'internal error; try again later');
      } else throw error;
      return publisher.serviceResponse(
        event,
        { request_id: requestId, status: 'error', error: { code: failure.code, message: failure.message } },
        { key, scheme },
      );
    }
  }
}
