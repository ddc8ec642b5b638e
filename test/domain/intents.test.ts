import { nip19 } from 'nostr-tools';
import { describe, expect, it } from 'vitest';
import type { ProtocolError } from '../../src/domain/error-codes.ts';
import { describeIntent, INTENT_ALIASES, parseIntent } from '../../src/domain/intents.ts';
import {
  ALICE,
  BOB,
  codeOf,
  GATEWAY,
  intentEvent,
  KEYS,
  NOT_A_POINT,
  NOW,
  OLD_GATEWAY,
  RULES,
  transferContent,
} from './intent-support.ts';

const TXID = 'ab'.repeat(32);
const INVOICE = 'lnbc10u1pjexampleinvoicedata';
const split = { vtxo_id: `${TXID}:1`, amounts: [300, 200] };
const land = { asset_id: 'gBTC', amount: 1000, invoice: INVOICE };
const swap = {
  give: [{ asset_id: 'gBTC', amount: 100 }],
  receive: [{ asset_id: 'USDX', amount: 5 }],
  counterparty: BOB,
};
const withParams = (params: unknown, type = 'transfer:p2p') => transferContent({ type, params });
const transferWith = (patch: Record<string, unknown>) =>
  withParams({ recipient: BOB, asset_id: 'gBTC', amount: 500, ...patch });
const swapWith = (patch: Record<string, unknown>) => withParams({ ...swap, ...patch }, 'swap:atomic');

/** Parses `content` (object or raw text) in a default event, or with the given tags. */
const parse = (content: unknown, tags?: string[][]) => parseIntent(intentEvent(content, { tags }), RULES);
const tagsFor = (extra: string[][], base = transferContent()) => [
  ['p', GATEWAY],
  ['d', String(base.action_id)],
  ...extra,
];

describe('parseIntent accepts', () => {
  it('a transfer, with every field read', () => {
    const event = intentEvent(
      transferContent({ params: { recipient: BOB, asset_id: 'gBTC', amount: 500, memo: 'hi' } }),
    );
    const intent = parseIntent(event, RULES);
    expect(intent).toEqual({
      eventId: event.id,
      author: ALICE,
      actionId: 'a1b2c3',
      type: 'transfer:p2p',
      typeAsWritten: 'transfer:p2p',
      params: { type: 'transfer:p2p', recipient: BOB, assetId: 'gBTC', amount: 500n, memo: 'hi' },
      fee: { assetId: 'gBTC', amount: 10n },
      expiresAt: NOW + 600,
      createdAt: NOW - 5,
      addressedTo: GATEWAY,
      event,
    });
  });

  it('a recipient as npub or upper-case hex, stored as lower-case hex', () => {
    for (const recipient of [nip19.npubEncode(BOB), BOB.toUpperCase()]) {
      const intent = parse(transferWith({ recipient }));
      expect(intent.params).toMatchObject({ recipient: BOB });
    }
  });

  it('numbers with fractions or exponents inside strings, and equal keys in different objects', () => {
    // The raw-text checks look at numbers and keys only, never inside strings.
    const memo = '1.5e3 "asset_id": 2E4 \\';
    const intent = parse(transferWith({ memo, asset_id: 'v' }));
    expect(intent.params).toMatchObject({ memo, assetId: 'v' });
  });

  it('amounts above 2^53 written as digit strings, exactly', () => {
    const big = '123456789012345678'; // > 2^53: a JSON number would lose the last digits
    expect(parse(transferWith({ amount: big })).params).toMatchObject({ amount: 123456789012345678n });
  });

  it('a split, a land and a swap', () => {
    expect(parse(withParams(split, 'vtxo:split')).params).toEqual({
      type: 'vtxo:split',
      vtxoId: `${TXID}:1`,
      amounts: [300n, 200n],
    });
    expect(parse(withParams(land, 'lightning:land')).params).toEqual({
      type: 'lightning:land',
      assetId: 'gBTC',
      amount: 1000n,
      invoice: INVOICE,
    });
    expect(
      parse(withParams({ ...land, invoice: INVOICE.toUpperCase() }, 'lightning:land')).params,
    ).toMatchObject({
      invoice: INVOICE.toUpperCase(),
    });
    expect(parse(swapWith({})).params).toEqual({
      type: 'swap:atomic',
      give: [{ assetId: 'gBTC', amount: 100n }],
      receive: [{ assetId: 'USDX', amount: 5n }],
      counterparty: BOB,
    });
  });

  it('a missing fee as amount 0 of no asset (4001 comes later, from checkFee)', () => {
    const content = transferContent();
    delete content.fee;
    expect(parse(content).fee).toEqual({ assetId: '', amount: 0n });
    expect(parse(transferContent({ fee: { asset_id: 'gBTC', amount: 0 } })).fee).toEqual({
      assetId: 'gBTC',
      amount: 0n,
    });
  });

  it('an intent addressed to a previous gateway key, and says which', () => {
    const content = transferContent();
    const intent = parse(content, [
      ['p', OLD_GATEWAY],
      ['d', 'a1b2c3'],
    ]);
    expect(intent.addressedTo).toBe(OLD_GATEWAY);
  });

  it('the earlier of expires_at and the expiration tag as the deadline; the tag is optional', () => {
    const content = transferContent({ expires_at: NOW + 900 });
    expect(parse(content, tagsFor([['expiration', String(NOW + 300)]])).expiresAt).toBe(NOW + 300);
    expect(
      parse(transferContent({ expires_at: NOW + 300 }), tagsFor([['expiration', String(NOW + 900)]]))
        .expiresAt,
    ).toBe(NOW + 300);
    expect(parse(content, tagsFor([])).expiresAt).toBe(NOW + 900);
    // Both far ahead but the effective deadline within the lifetime: accepted.
    expect(
      parse(transferContent({ expires_at: NOW + 7200 }), tagsFor([['expiration', String(NOW + 3600)]]))
        .expiresAt,
    ).toBe(NOW + 3600);
  });

  it.each(Object.entries(INTENT_ALIASES))(
    'the alias %s as %s, keeping the name as written',
    (alias, type) => {
      const params = {
        'transfer:p2p': transferContent().params,
        'swap:atomic': swap,
        'liquidity:add': swap,
        'lightning:land': land,
      }[type as string];
      const intent = parse(withParams(params, alias));
      expect(intent.type).toBe(type);
      expect(intent.typeAsWritten).toBe(alias);
      expect(intent.params.type).toBe(type);
    },
  );
});

const expiredCases: [string, Record<string, unknown>, string[][] | undefined][] = [
  ['expires_at now', transferContent({ expires_at: NOW }), undefined],
  ['expires_at past', transferContent({ expires_at: NOW - 1 }), undefined],
  ['expiration tag now', transferContent(), tagsFor([['expiration', String(NOW)]])],
  ['expiration tag past, expires_at future', transferContent(), tagsFor([['expiration', '1']])],
  ['deadline beyond the lifetime', transferContent({ expires_at: NOW + 3601 }), tagsFor([])],
  [
    'both beyond the lifetime',
    transferContent({ expires_at: NOW + 9999 }),
    tagsFor([['expiration', String(NOW + 3601)]]),
  ],
];

// Each case: a description and the content (object or raw text); default tags.
const malformedCases: [string, unknown, string[][]?][] = [
  ['content not JSON', '{"v":1,'],
  ['content an array', '[1]'],
  ['content null', 'null'],
  ['content a string', '"x"'],
  ['unknown top-level field', transferContent({ extra: 1 })],
  ['duplicate key', JSON.stringify(transferContent()).replace('"v":1', '"v":1,"v":1')],
  [
    'duplicate key in params',
    JSON.stringify(transferContent()).replace('"amount":500', '"amount":500,"amount":5'),
  ],
  ['v missing', transferContent({ v: undefined })],
  ['v 2', transferContent({ v: 2 })],
  ['v "1"', transferContent({ v: '1' })],
  ['v 1.0', JSON.stringify(transferContent()).replace('"v":1', '"v":1.0')],
  ['action_id missing', transferContent({ action_id: undefined })],
  [
    'action_id empty',
    transferContent({ action_id: '' }),
    [
      ['p', GATEWAY],
      ['d', ''],
    ],
  ],
  [
    'action_id 65 chars',
    transferContent({ action_id: 'a'.repeat(65) }),
    [
      ['p', GATEWAY],
      ['d', 'a'.repeat(65)],
    ],
  ],
  [
    'action_id with /',
    transferContent({ action_id: 'a/b' }),
    [
      ['p', GATEWAY],
      ['d', 'a/b'],
    ],
  ],
  ['d tag missing', transferContent(), [['p', GATEWAY]]],
  [
    'd tag different',
    transferContent(),
    [
      ['p', GATEWAY],
      ['d', 'other'],
    ],
  ],
  [
    'two d tags',
    transferContent(),
    [
      ['p', GATEWAY],
      ['d', 'a1b2c3'],
      ['d', 'a1b2c3'],
    ],
  ],
  [
    'expires_at missing',
    transferContent({ expires_at: undefined }),
    tagsFor([['expiration', String(NOW + 60)]]),
  ],
  ['expires_at a string', transferContent({ expires_at: String(NOW + 60) })],
  [
    'expires_at a float',
    JSON.stringify(transferContent()).replace(`"expires_at":${NOW + 600}`, `"expires_at":${NOW + 600}.5`),
  ],
  ['expiration tag not a number', transferContent(), tagsFor([['expiration', 'soon']])],
  [
    'two expiration tags',
    transferContent(),
    tagsFor([
      ['expiration', String(NOW + 60)],
      ['expiration', String(NOW + 90)],
    ]),
  ],
  ['type a number', transferContent({ type: 7 })],
  ['params missing', transferContent({ params: undefined })],
  ['params an array', withParams([])],
  ['unknown params field', transferWith({ note: 'x' })],
  ['missing params field', withParams({ recipient: BOB, amount: 500 })],
  ['amount 0', transferWith({ amount: 0 })],
  ['amount negative', transferWith({ amount: -1 })],
  ['amount a float', transferWith({ amount: 1.5 })],
  ['amount 1.0', JSON.stringify(transferContent()).replace('"amount":500', '"amount":500.0')],
  ['amount in exponent notation', JSON.stringify(transferContent()).replace('"amount":500', '"amount":5e2')],
  ['amount above 2^53 as a number', transferWith({ amount: 2 ** 53 })],
  ['amount string with exponent', transferWith({ amount: '5e2' })],
  ['amount string with a sign', transferWith({ amount: '+500' })],
  ['amount string negative', transferWith({ amount: '-500' })],
  ['amount string with spaces', transferWith({ amount: ' 500' })],
  ['amount string with leading zero', transferWith({ amount: '0500' })],
  ['amount string "0"', transferWith({ amount: '0' })],
  ['amount string empty', transferWith({ amount: '' })],
  ['amount above a signed 64-bit integer', transferWith({ amount: (2n ** 63n).toString() })],
  ['amount null', transferWith({ amount: null })],
  ['amount true', transferWith({ amount: true })],
  ['asset_id empty', transferWith({ asset_id: '' })],
  ['asset_id 65 chars', transferWith({ asset_id: 'a'.repeat(65) })],
  ['asset_id with a space', transferWith({ asset_id: 'g BTC' })],
  ['asset_id with a colon', transferWith({ asset_id: 'g:BTC' })],
  ['asset_id a number', transferWith({ asset_id: 5 })],
  ['recipient 63 hex', transferWith({ recipient: BOB.slice(1) })],
  ['recipient not on the curve', transferWith({ recipient: NOT_A_POINT })],
  ['recipient a bad npub', transferWith({ recipient: 'npub1qqqqqqqq' })],
  ['recipient an nprofile', transferWith({ recipient: nip19.nprofileEncode({ pubkey: BOB }) })],
  ['recipient the author', transferWith({ recipient: ALICE })],
  ['recipient the author as npub', transferWith({ recipient: nip19.npubEncode(ALICE) })],
  ['recipient the author in upper case', transferWith({ recipient: ALICE.toUpperCase() })],
  ['memo of 257 characters', transferWith({ memo: 'm'.repeat(257) })],
  ['memo a number', transferWith({ memo: 5 })],
  ['memo null', transferWith({ memo: null })],
  ['fee not an object', transferContent({ fee: 10 })],
  ['fee with an unknown field', transferContent({ fee: { asset_id: 'gBTC', amount: 10, payer: ALICE } })],
  ['fee without asset_id', transferContent({ fee: { amount: 10 } })],
  ['fee amount negative', transferContent({ fee: { asset_id: 'gBTC', amount: -10 } })],
  ['fee amount a float', transferContent({ fee: { asset_id: 'gBTC', amount: 0.5 } })],
  ['fee asset_id bad', transferContent({ fee: { asset_id: '', amount: 10 } })],
  ['vtxo_id in upper case', withParams({ ...split, vtxo_id: `${TXID.toUpperCase()}:1` }, 'vtxo:split')],
  ['vtxo_id without vout', withParams({ ...split, vtxo_id: TXID }, 'vtxo:split')],
  ['vtxo_id vout with a leading zero', withParams({ ...split, vtxo_id: `${TXID}:01` }, 'vtxo:split')],
  ['vtxo_id vout above 2^32-1', withParams({ ...split, vtxo_id: `${TXID}:4294967296` }, 'vtxo:split')],
  ['split into one part', withParams({ ...split, amounts: [500] }, 'vtxo:split')],
  ['split into 17 parts', withParams({ ...split, amounts: Array(17).fill(1) }, 'vtxo:split')],
  ['split amounts not an array', withParams({ ...split, amounts: 500 }, 'vtxo:split')],
  ['split part zero', withParams({ ...split, amounts: [500, 0] }, 'vtxo:split')],
  ['invoice not starting with ln', withParams({ ...land, invoice: 'bc1qxyz' }, 'lightning:land')],
  ['invoice in mixed case', withParams({ ...land, invoice: 'lnBC10u1pj' }, 'lightning:land')],
  ['invoice with a space', withParams({ ...land, invoice: 'lnbc10 u1pj' }, 'lightning:land')],
  ['invoice of 2049 characters', withParams({ ...land, invoice: 'ln' + 'q'.repeat(2047) }, 'lightning:land')],
  ['invoice missing', withParams({ asset_id: 'gBTC', amount: 1000 }, 'lightning:land')],
  ['swap with nothing given', swapWith({ give: [] })],
  ['swap with nothing received', swapWith({ receive: [] })],
  ['swap giving one asset twice', swapWith({ give: [swap.give[0], swap.give[0]] })],
  ['swap giving and receiving one asset', swapWith({ receive: [{ asset_id: 'gBTC', amount: 1 }] })],
  ['swap leg with an unknown field', swapWith({ give: [{ asset_id: 'gBTC', amount: 1, memo: 'x' }] })],
  ['swap leg amount zero', swapWith({ give: [{ asset_id: 'gBTC', amount: 0 }] })],
  [
    'swap with 17 assets given',
    swapWith({ give: Array.from({ length: 17 }, (_, i) => ({ asset_id: `A${i}`, amount: 1 })) }),
  ],
  ['swap counterparty the author', swapWith({ counterparty: ALICE })],
  ['swap counterparty missing', withParams({ give: swap.give, receive: swap.receive }, 'swap:atomic')],
  ['liquidity with nothing given', withParams({ ...swap, give: [] }, 'liquidity:add')],
];

describe('parseIntent rejects', () => {
  it.each(malformedCases)('1002: %s', (_, content, tags) => {
    expect(codeOf(() => parse(content, tags))).toBe(1002);
  });

  it('1002: an event of another kind', () => {
    expect(codeOf(() => parseIntent(intentEvent(transferContent(), { kind: 31500 }), RULES))).toBe(1002);
  });

  it.each(['transfer', 'TRANSFER:P2P', 'lift_lightning', 'constructor', '__proto__', 'toString', ''])(
    '1005: type %j',
    (type) => {
      expect(codeOf(() => parse(transferContent({ type })))).toBe(1005);
    },
  );

  it.each(expiredCases)('1003: %s', (_, content, tags) => {
    expect(codeOf(() => parse(content, tags))).toBe(1003);
  });

  it.each([
    ['no p tag', [['d', 'a1b2c3']]],
    [
      'p tag of another key',
      [
        ['p', KEYS[9]!],
        ['d', 'a1b2c3'],
      ],
    ],
  ])('1006: %s', (_, tags) => {
    expect(codeOf(() => parse(transferContent(), tags))).toBe(1006);
  });

  it('in the documented order: shape, type, expiry, addressee', () => {
    const expiredUnaddressed = [['d', 'a1b2c3']];
    const expired = { expires_at: NOW - 1 };
    expect(codeOf(() => parse(transferContent({ ...expired, extra: 1 }), expiredUnaddressed))).toBe(1002);
    expect(codeOf(() => parse(transferContent({ ...expired, type: 'nope' }), expiredUnaddressed))).toBe(1005);
    expect(codeOf(() => parse(transferContent(expired), expiredUnaddressed))).toBe(1003);
  });

  it('with a message that names the field', () => {
    const error = (() => {
      try {
        parse(transferWith({ amount: 1.5 }));
      } catch (e) {
        return e as ProtocolError;
      }
    })();
    expect(error?.message).toMatch(/plain integers|params\.amount/);
  });
});

describe('describeIntent', () => {
  it('says what each type does, with the fee', () => {
    const bobNpub = nip19.npubEncode(BOB);
    expect(describeIntent(parse(transferContent()))).toBe(`Send 500 gBTC to ${bobNpub} (fee 10 gBTC)`);
    expect(describeIntent(parse(withParams(split, 'vtxo:split')))).toBe(
      `Split VTXO ${TXID}:1 into 300 + 200 (fee 10 gBTC)`,
    );
    expect(describeIntent(parse(withParams(land, 'lightning:land')))).toBe(
      'Pay Lightning invoice lnbc10u1pjexampleinvoice… with 1000 gBTC (fee 10 gBTC)',
    );
    expect(describeIntent(parse(swapWith({})))).toBe(
      `Swap 100 gBTC for 5 USDX with ${bobNpub} (fee 10 gBTC)`,
    );
    expect(describeIntent(parse(withParams(swap, 'add_liquidity')))).toBe(
      `Add liquidity 100 gBTC for 5 USDX with ${bobNpub} (fee 10 gBTC)`,
    );
  });
});
