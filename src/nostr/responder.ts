// Turns one claimed event into its reply events. The kinds it handles are a table registered
// at composition: 31500 dispatched by action to the service-action registry (→ 31501), and each
// other kind to the handler its module registered (the ceremony's 31510 and 31512). Runs inside a
// job (worker).
import { BackendError } from '../backends/types.ts';
import { ERROR_CODES, ProtocolError, type ErrorName } from '../domain/error-codes.ts';
import {
  KIND,
  detectScheme,
  firstTag,
  parseServiceRequest,
  type NostrEvent,
} from '../domain/nostr-protocol.ts';
import type { Logger } from '../logging.ts';
import type { AnyAction } from './handlers/index.ts';
import type { GatewayKey } from './keys.ts';
import { replyScheme, type Publisher } from './publisher.ts';

/** The replies to publish for one event of a kind (a 31341 when refused). */
export type KindHandler = (event: NostrEvent, key: GatewayKey) => Promise<NostrEvent[]>;

export interface ResponderOptions {
  readonly publisher: Publisher;
  /** The 31500 service actions, by name. */
  readonly actions: ReadonlyMap<string, AnyAction>;
  /** Every other kind this process answers, by kind. */
  readonly kinds: ReadonlyMap<number, KindHandler>;
  readonly allowNip04: boolean;
}

export interface RespondContext {
  readonly attempt: number;
  readonly lastAttempt: boolean;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

export function protocolError(name: ErrorName, message?: string): ProtocolError {
  return new ProtocolError(name, message ?? ERROR_CODES[name].message);
}

export class Responder {
  readonly #options: ResponderOptions;

  constructor(options: ResponderOptions) {
    this.#options = options;
  }

  /** The replies to a claimed event. Throws (to be retried) only for unexpected failures. */
  async respond(event: NostrEvent, key: GatewayKey, ctx: RespondContext): Promise<NostrEvent[]> {
    if (event.kind === KIND.SERVICE_REQUEST) return [await this.#serviceRequest(event, key, ctx)];
    const handler = this.#options.kinds.get(event.kind);
    return handler ? handler(event, key) : [];
  }

  async #serviceRequest(event: NostrEvent, key: GatewayKey, ctx: RespondContext): Promise<NostrEvent> {
    const { publisher, actions, allowNip04 } = this.#options;
    const scheme = replyScheme(event, allowNip04);
    let requestId = firstTag(event, 'd') ?? event.id;
    try {
      if (detectScheme(event.content) === 'nip04' && !allowNip04) {
        throw protocolError('UNSUPPORTED_ENCRYPTION', 'NIP-04 is turned off on this gateway: use NIP-44');
      }
      const { plaintext } = key.cipher.decrypt(event.pubkey, event.content);
      const request = parseServiceRequest(plaintext);
      requestId = request.request_id;
      const action = actions.get(request.action);
      if (!action) throw protocolError('UNKNOWN_TYPE', `unknown action "${request.action}"`);
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
      // A daemon that answered and refused will refuse again: its protocol code now, no retry.
      else if (error instanceof BackendError && !error.retryable) failure = error.toProtocolError();
      else if (ctx.lastAttempt) {
        ctx.logger.error({ err: error, event: event.id }, 'service request failed on its last attempt');
        failure = protocolError('SERVICE_UNAVAILABLE', 'internal error; try again later');
      } else throw error;
      return publisher.serviceResponse(
        event,
        { request_id: requestId, status: 'error', error: { code: failure.code, message: failure.message } },
        { key, scheme },
      );
    }
  }
}
