// Where signing responses (31512) enter the ceremony: decrypted, checked against the session's
// open challenge and verified against the gateway's own copy of the PSBTs, recorded once, then
// the group advances. A refusal is a 3002 (or 1002 for a malformed answer) about the session,
// and leaves the step open until its deadline: the wallet may answer again.
import { ProtocolError } from '../domain/error-codes.ts';
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { Logger } from '../logging.ts';
import type { GatewayKey } from '../nostr/keys.ts';
import type { Publisher } from '../nostr/publisher.ts';
import { parseResponse, verifyResponse } from './challenge.ts';
import type { CeremonyEngine } from './engine.ts';

export interface ResponseDeps {
  readonly engine: CeremonyEngine;
  readonly publisher: Publisher;
  readonly logger: Logger;
}

export class ResponseIntake {
  readonly #deps: ResponseDeps;

  constructor(deps: ResponseDeps) {
    this.#deps = deps;
  }

  /** A 31512 from intake; returns the 31341 to publish when it is refused. */
  async onResponse(event: NostrEvent, key: GatewayKey): Promise<NostrEvent[]> {
    const { engine } = this.#deps;
    const records = engine.records;
    let actionId: string | null = null;
    let sessionId: string | null = null;
    try {
      const { plaintext } = key.cipher.decrypt(event.pubkey, event.content);
      // The session is looked up before the answer is judged, so that even a malformed answer's
      // notice names the session and action it concerns.
      const claimed = sessionIdOf(plaintext);
      const found = claimed ? await records.session(claimed) : undefined;
      const session = found?.owner === event.pubkey ? found : undefined;
      sessionId = session?.sessionId ?? null;
      actionId = session?.actionId ?? null;
      const response = parseResponse(plaintext);
      if (!session) throw new ProtocolError('CHALLENGE_RESPONSE_INVALID', 'no such session for this key');
      const challenge = await records.challenge(session.sessionId, response.step);
      if (!challenge || challenge.status !== 'open' || session.state !== 'awaiting_signatures') {
        // A closed step: an answer already recorded (a duplicate) or a session that moved on.
        if (challenge?.response_event_id === event.id || challenge?.status === 'answered') return [];
        throw new ProtocolError('CHALLENGE_RESPONSE_INVALID', `step ${response.step} is not open`);
      }
      const challengeTag = event.tags.find((t) => t[0] === 'e')?.[1];
      if (challengeTag !== undefined && challengeTag !== challenge.event_id) {
        throw new ProtocolError('CHALLENGE_RESPONSE_INVALID', 'the response names another challenge');
      }
      if (engine.now > Number(challenge.expires_at)) {
        throw new ProtocolError('SESSION_TIMEOUT', 'the step expired before the response arrived');
      }
      const { psbts } = JSON.parse(challenge.payload_json) as { psbts: string[] };
      const signatures = verifyResponse(response, psbts, session.owner);
      const recorded = await records.transaction((trx) =>
        records.answer(trx, challenge.challenge_id, event.id, JSON.stringify(signatures)),
      );
      if (recorded) {
        engine.observer?.stepAnswered(response.step, (engine.now - Number(challenge.created_at)) / 1000);
        engine.crash('answered');
        await engine.advance(session.sessionId).catch((error: unknown) => {
          this.#deps.logger.warn(
            { err: error, session: session.sessionId },
            'advancing after a response failed; the sweep retries',
          );
        });
      }
      return [];
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return [
        this.#deps.publisher.failureNotice(
          event,
          {
            action_id: actionId,
            code: error.code,
            message: error.message,
            details: { ...(sessionId ? { session_id: sessionId } : {}), ...(error.details ?? {}) },
          },
          { key },
        ),
      ];
    }
  }
}

/** The session a response names, read leniently so even a malformed answer's notice can say it. */
function sessionIdOf(plaintext: string): string | null {
  try {
    const id = (JSON.parse(plaintext) as { session_id?: unknown }).session_id;
    return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : null;
  } catch {
    return null;
  }
}
