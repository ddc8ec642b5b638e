// Properties of parseIntent: every valid intent a wallet can write reads back as exactly what it
// says, and no input whatever makes it throw anything but a ProtocolError.
import fc from 'fast-check';
import { nip19 } from 'nostr-tools';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/domain/error-codes.ts';
import {
  INTENT_ALIASES,
  parseIntent,
  type AssetAmount,
  type IntentParams,
} from '../../src/domain/intents.ts';
import {
  GATEWAY,
  intentEvent,
  KEYS,
  NOW,
  OLD_GATEWAY,
  RULES,
  transferContent,
  wireParams,
} from './intent-support.ts';

const MAX_AMOUNT = 2n ** 63n - 1n;
const USERS = KEYS.slice(2);

const amountArb = fc.oneof(fc.bigInt({ min: 1n, max: 1_000_000n }), fc.bigInt({ min: 1n, max: MAX_AMOUNT }));
const assetIdArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
const hexArb = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));

/** A key as a wallet may write it: lower-case hex, upper-case hex or npub. */
const writtenKey = (hex: string) =>
  fc.constantFrom(hex, hex.toUpperCase(), nip19.npubEncode(hex)).map((written) => ({ hex, written }));

const swapArb = (type: 'swap:atomic' | 'liquidity:add', counterparty: string) =>
  fc.uniqueArray(assetIdArb, { minLength: 2, maxLength: 12 }).chain((ids) =>
    fc
      .tuple(
        fc.integer({ min: 1, max: ids.length - 1 }),
        fc.array(amountArb, { minLength: ids.length, maxLength: ids.length }),
      )
      .map(([cut, amounts]) => {
        const list: AssetAmount[] = ids.map((assetId, i) => ({ assetId, amount: amounts[i]! }));
        return { type, give: list.slice(0, cut), receive: list.slice(cut), counterparty } as IntentParams;
      }),
  );

/** Valid params for `author`, with the other party's key in the form it is written. */
const paramsArb = (author: string) =>
  fc.constantFrom(...USERS.filter((k) => k !== author)).chain((other) =>
    writtenKey(other).chain(({ hex, written }) =>
      fc
        .oneof(
          fc.record({
            type: fc.constant('transfer:p2p' as const),
            recipient: fc.constant(hex),
            assetId: assetIdArb,
            amount: amountArb,
            memo: fc.option(fc.string({ maxLength: 256, unit: 'binary' }), { nil: undefined }),
          }),
          fc.record({
            type: fc.constant('vtxo:split' as const),
            vtxoId: fc
              .tuple(hexArb(32), fc.integer({ min: 0, max: 2 ** 32 - 1 }))
              .map(([t, v]) => `${t}:${v}`),
            amounts: fc.array(amountArb, { minLength: 2, maxLength: 16 }),
          }),
          fc.record({
            type: fc.constant('lightning:land' as const),
            assetId: assetIdArb,
            amount: amountArb,
            invoice: fc
              .tuple(fc.stringMatching(/^[0-9a-z]{1,300}$/), fc.boolean())
              .map(([body, upper]) => (upper ? `LN${body.toUpperCase()}` : `ln${body}`)),
          }),
          swapArb('swap:atomic', hex),
          swapArb('liquidity:add', hex),
        )
        .map((params) => {
          // The memo key is absent, not undefined, when there is none.
          if (params.type === 'transfer:p2p' && params.memo === undefined) {
            const { memo: _, ...rest } = params;
            return { params: rest as IntentParams, written };
          }
          return { params: params as IntentParams, written };
        }),
    ),
  );

const validIntentArb = fc.constantFrom(...USERS).chain((author) =>
  fc.record({
    author: fc.constant(author),
    p: paramsArb(author),
    actionId: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
    alias: fc.boolean(),
    amountsAsStrings: fc.boolean(),
    fee: fc.option(fc.record({ assetId: assetIdArb, amount: fc.bigInt({ min: 0n, max: MAX_AMOUNT }) }), {
      nil: undefined,
    }),
    // The effective deadline, and the later one (the tag's or expires_at), or no tag.
    deadline: fc.integer({ min: 1, max: 3600 }),
    later: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }),
    tagIsEarlier: fc.boolean(),
    viaOldKey: fc.boolean(),
    createdAt: fc.integer({ min: 0, max: NOW }),
  }),
);

describe('parseIntent properties', () => {
  it('reads every valid intent back as written', () => {
    fc.assert(
      fc.property(validIntentArb, (g) => {
        const { params, written } = g.p;
        const alias = Object.entries(INTENT_ALIASES).find(([, t]) => t === params.type)?.[0];
        const typeAsWritten = g.alias && alias ? alias : params.type;
        const wire = wireParams(params, g.amountsAsStrings);
        if ('recipient' in wire) wire.recipient = written;
        if ('counterparty' in wire) wire.counterparty = written;
        const early = NOW + g.deadline;
        const late = g.later === undefined ? undefined : early + g.later;
        const expiresAt = late !== undefined && g.tagIsEarlier ? late : early;
        const tag = late === undefined ? undefined : g.tagIsEarlier ? early : late;
        const content = {
          v: 1,
          action_id: g.actionId,
          type: typeAsWritten,
          params: wire,
          ...(g.fee && {
            fee: {
              asset_id: g.fee.assetId,
              amount: g.amountsAsStrings ? g.fee.amount.toString() : safe(g.fee.amount),
            },
          }),
          expires_at: expiresAt,
        };
        const tags = [
          ['t', 'unrelated'],
          ['p', KEYS[19]!],
          ['p', g.viaOldKey ? OLD_GATEWAY : GATEWAY],
          ['d', g.actionId],
          ...(tag === undefined ? [] : [['expiration', String(tag)]]),
        ];
        const event = { ...intentEvent(content, { author: g.author, tags }), created_at: g.createdAt };
        const intent = parseIntent(event, RULES);
        expect(intent).toEqual({
          eventId: event.id,
          author: g.author,
          actionId: g.actionId,
          type: params.type,
          typeAsWritten,
          params,
          fee: g.fee ?? { assetId: '', amount: 0n },
          expiresAt: early,
          createdAt: g.createdAt,
          addressedTo: g.viaOldKey ? OLD_GATEWAY : GATEWAY,
          event,
        });
      }),
      { numRuns: 300 },
    );
  });

  it('throws nothing but ProtocolError on arbitrary content and tags', () => {
    const tagsArb = fc.array(
      fc.oneof(
        fc.array(fc.string(), { maxLength: 3 }),
        fc.tuple(
          fc.constantFrom('p', 'd', 'expiration'),
          fc.oneof(fc.string(), fc.constantFrom(GATEWAY, 'a1b2c3', String(NOW + 60))),
        ),
      ),
      { maxLength: 5 },
    );
    const contentArb = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      // A valid transfer with one field replaced, removed or added: the likeliest near-misses.
      fc
        .tuple(
          fc.constantFrom('v', 'action_id', 'type', 'params', 'fee', 'expires_at', 'extra'),
          fc.constantFrom(null, 'recipient', 'asset_id', 'amount', 'memo', 'give'),
          fc.option(fc.jsonValue(), { nil: undefined }),
        )
        .map(([key, sub, value]) => {
          const content = transferContent() as Record<string, Record<string, unknown>>;
          if (sub !== null && key === 'params') content.params![sub] = value;
          else content[key] = value as Record<string, unknown>;
          return JSON.stringify(content);
        }),
    );
    fc.assert(
      fc.property(contentArb, fc.option(tagsArb, { nil: undefined }), (content, tags) => {
        const defaultTags = [
          ['p', GATEWAY],
          ['d', 'a1b2c3'],
        ];
        try {
          parseIntent(intentEvent(content, { tags: tags ?? defaultTags }), RULES);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
          expect([1002, 1003, 1005, 1006]).toContain((error as ProtocolError).code);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

function safe(amount: bigint): number | string {
  return amount <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(amount) : amount.toString();
}
