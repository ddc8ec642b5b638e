// Builds, encrypts and signs every outgoing kind with the tags of the protocol (a unique `d`,
// `e`, `p`, `expiration`), and hands them to the durable outbox. This is the only place the
// gateway signs protocol events; nothing reachable over HTTP calls it with caller-chosen content.
import { randomUUID } from 'node:crypto';
import type { ProtocolError } from '../domain/error-codes.ts';
import {
  KIND,
  detectScheme,
  firstTag,
  type EncryptionScheme,
  type FailureNotice,
  type NostrEvent,
  type ServiceResponse,
} from '../domain/nostr-protocol.ts';
import type { NostrTrx } from './claims.ts';
import { nowSeconds, signEvent } from './event.ts';
import type { GatewayKey, KeyRing } from './keys.ts';
import type { Outbox } from './outbox.ts';

export interface PublisherOptions {
  readonly keys: KeyRing;
  readonly outbox: Outbox;
  /** Lifetime of replies and notices (their NIP-40 expiration), seconds. */
  readonly replyTtlS: number;
  /** Tells this process's supervisor (if it has one) that the outbox has work. */
  readonly notify?: () => void;
  /** NIP-04 requests are answered in NIP-04 (NOSTR_ALLOW_NIP04); otherwise in NIP-44. */
  readonly allowNip04?: boolean;
}

/** The scheme a reply to this event uses: the request's, unless NIP-04 is off. */
export function replyScheme(event: NostrEvent, allowNip04: boolean): EncryptionScheme {
  if (event.kind === KIND.ACTION_INTENT) return 'nip44';
  const scheme = detectScheme(event.content);
  return scheme === 'nip04' && !allowNip04 ? 'nip44' : scheme;
}

interface Encrypted {
  /** The user the content is encrypted for and p-tagged. */
  readonly to: string;
  /** Default NIP-44; answer a NIP-04 request in NIP-04. */
  readonly scheme?: EncryptionScheme;
  /** The gateway key that signs and encrypts; default the active key. */
  readonly key?: GatewayKey;
}

export class Publisher {
  readonly #options: PublisherOptions;
  #notify: (() => void) | undefined;

  constructor(options: PublisherOptions) {
    this.#options = options;
    this.#notify = options.notify;
  }

  /** Set by the API process once its supervisor runs. */
  set notifier(notify: (() => void) | undefined) {
    this.#notify = notify;
  }

  #expiration(at?: number): string[] {
    return ['expiration', String(at ?? nowSeconds() + this.#options.replyTtlS)];
  }

  #encrypted(kind: number, target: Encrypted, body: unknown, tags: string[][]): NostrEvent {
    const key = target.key ?? this.#options.keys.active;
    const content = key.cipher.encrypt(target.to, JSON.stringify(body), target.scheme ?? 'nip44');
    return signEvent(
      { kind, created_at: nowSeconds(), tags: [['p', target.to], ...tags], content },
      key.secret,
      key.pubkey,
    );
  }

  /** 31501: the answer to a 31500 request, from the key the request was addressed to. */
  /** The reply to an event refused before any handler ran: a 31501 error or a 31341. */
  rejection(event: NostrEvent, key: GatewayKey, error: ProtocolError): NostrEvent {
    const scheme = replyScheme(event, this.#options.allowNip04 ?? false);
    if (event.kind === KIND.SERVICE_REQUEST) {
      const requestId = firstTag(event, 'd') ?? event.id;
      return this.serviceResponse(
        event,
        { request_id: requestId, status: 'error', error: { code: error.code, message: error.message } },
        { key, scheme },
      );
    }
    return this.failureNotice(
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

  serviceResponse(request: NostrEvent, body: ServiceResponse, target: Omit<Encrypted, 'to'>): NostrEvent {
    return this.#encrypted(KIND.SERVICE_RESPONSE, { ...target, to: request.pubkey }, body, [
      ['e', request.id],
      ['d', `response:${request.id}`],
      this.#expiration(),
    ]);
  }

  /** 31341: an intent (or a signing response) failed. */
  failureNotice(about: NostrEvent, notice: FailureNotice, target: Omit<Encrypted, 'to'>): NostrEvent {
    return this.#encrypted(KIND.FAILURE_NOTICE, { ...target, to: about.pubkey }, notice, [
      ['e', about.id],
      ['d', `failure:${about.id}`],
      this.#expiration(),
    ]);
  }

  /** 31502: progress, lift paid, session expired… `d` defaults to a fresh uuid. */
  notification(
    target: Encrypted,
    body: { type: string } & Record<string, unknown>,
    d: string = randomUUID(),
  ): NostrEvent {
    return this.#encrypted(KIND.NOTIFICATION, target, body, [['d', `notification:${d}`], this.#expiration()]);
  }

  /** 31511: one step of a signing ceremony, `d` = session:step, expiring with the step. */
  challenge(
    target: Encrypted,
    intentEventId: string,
    body: { session_id: string; step: number; expires_at: number } & Record<string, unknown>,
  ): NostrEvent {
    return this.#encrypted(KIND.SIGNING_CHALLENGE, target, body, [
      ['e', intentEventId],
      ['d', `${body.session_id}:${body.step}`],
      this.#expiration(body.expires_at),
    ]);
  }

  /** 31340: public confirmation; `e` every intent, `p` every party and recipient. */
  confirmation(input: {
    readonly intentEventIds: readonly string[];
    readonly parties: readonly string[];
    readonly d: string;
    readonly content: Record<string, unknown>;
  }): NostrEvent {
    const key = this.#options.keys.active;
    const tags = [
      ...input.intentEventIds.map((id) => ['e', id]),
      ...[...new Set(input.parties)].map((p) => ['p', p]),
      ['d', `confirmation:${input.d}`],
    ];
    return signEvent(
      { kind: KIND.CONFIRMATION, created_at: nowSeconds(), tags, content: JSON.stringify(input.content) },
      key.secret,
      key.pubkey,
    );
  }

  /** 31342: public L1 commitment, `d` = merkle root. */
  l1Commitment(content: { merkle_root: string } & Record<string, unknown>): NostrEvent {
    const key = this.#options.keys.active;
    return signEvent(
      {
        kind: KIND.L1_COMMITMENT,
        created_at: nowSeconds(),
        tags: [['d', `commitment:${content.merkle_root}`]],
        content: JSON.stringify(content),
      },
      key.secret,
      key.pubkey,
    );
  }

  /**
   * Queues events for publishing. Pass the transaction of the state change they announce; then
   * call `flush()` after it commits (publishing also happens on the next outbox sweep).
   */
  async send(events: readonly NostrEvent[], trx?: NostrTrx): Promise<void> {
    await this.#options.outbox.add(events, trx);
    if (!trx) this.flush();
  }

  flush(): void {
    this.#notify?.();
  }
}
