// Every numeric parameter of every route, as /openapi.json describes them (query, path and body;
// JSON numbers and decimal strings), gets hostile numbers — Infinity, 1e309, 1e21, negative,
// fractional, NaN, digits beyond 2^63 — and must be answered 4xx, never 500 and never accepted.
// Each request is otherwise valid: the same request with an ordinary number is answered 2xx, so a
// 4xx can only come from the number itself.
import { randomBytes } from 'node:crypto';
import { getPublicKey, generateSecretKey } from 'nostr-tools/pure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { decimalRange, MAX_INT64 } from '../../src/http/amounts.ts';
import { createStack, stackName, startTestGateway, type SharedStack } from '../nostr/support.ts';

const KEY = 'hostile-numbers-admin-key-'.padEnd(48, 'x');

interface Schema {
  type?: string;
  anyOf?: Schema[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  default?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
}
interface Parameter {
  in: 'query' | 'path' | 'header';
  name: string;
  required?: boolean;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

/** What a value is sent as: raw text in a URL, or a raw JSON token in a body. */
type Where = 'query' | 'path' | 'body';
interface Target {
  readonly method: string;
  readonly path: string;
  readonly where: Where;
  readonly name: string;
  readonly schema: Schema;
}

// Text in a query string or a path: Ajv coerces it to a number (or matches it as a string).
const HOSTILE_TEXT = [
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  '1e21',
  '-1',
  '0.5',
  '1.5',
  'NaN',
  '',
  '1e-7',
  (MAX_INT64 + 1n).toString(),
  '99999999999999999999999',
  (-MAX_INT64 - 2n).toString(),
];
// Raw JSON tokens in a body: numbers JSON.parse turns into Infinity or imprecise floats, and the
// same as strings (which Ajv coerces too).
const HOSTILE_JSON = [
  '1e309',
  '-1e309',
  '1e400',
  '1e21',
  '-1',
  '0.5',
  (MAX_INT64 + 1n).toString(),
  (-MAX_INT64 - 2n).toString(),
  '"Infinity"',
  '"-Infinity"',
  '"1e309"',
  '"1e21"',
  '"-1"',
  '"0.5"',
  '"NaN"',
  `"${(MAX_INT64 + 1n).toString()}"`,
  '"99999999999999999999999"',
];

const pubkey = getPublicKey(generateSecretKey());
const hex64 = 'ab'.repeat(32);

/** Valid text for a string field; tried in order against its pattern. */
function stringFor(name: string, schema: Schema): string {
  const byName: Record<string, string> = { pubkey, user: pubkey, asset_id: 'gBTC', amount: '1000' };
  const candidates = [
    byName[name],
    '1000',
    'gBTC',
    hex64,
    `${hex64}:0`,
    '1:abc',
    'arkd',
    'x'.repeat(Math.max(schema.minLength ?? 1, 1)),
  ].filter((c): c is string => c !== undefined);
  if (!schema.pattern) return candidates[0]!;
  const pattern = new RegExp(schema.pattern);
  const found = candidates.find((c) => pattern.test(c));
  if (!found) throw new Error(`no candidate value matches ${name}: ${schema.pattern}`);
  return found;
}

function numberFor(name: string, schema: Schema): number {
  // Amounts above any dust limit; everything else (limits, hours, seconds) as small as allowed.
  if (/amount|sats/.test(name)) return 1000;
  const min = schema.minimum ?? 1;
  const max = schema.maximum ?? Number.MAX_SAFE_INTEGER;
  return Math.min(Math.max(min, 1), max);
}

/** An ordinary valid value for a schema. */
function valueFor(name: string, schema: Schema): unknown {
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return valueFor(name, schema.anyOf[0]!);
  switch (schema.type) {
    case 'integer':
    case 'number':
      return numberFor(name, schema);
    case 'boolean':
      return schema.default ?? true;
    case 'array':
      return [];
    case 'object':
      return objectFor(schema);
    default:
      return stringFor(name, schema);
  }
}

function objectFor(schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of schema.required ?? []) out[name] = valueFor(name, schema.properties![name]!);
  return out;
}

function isNumeric(schema: Schema): boolean {
  if (schema.type === 'integer' || schema.type === 'number') return true;
  if (schema.anyOf) return schema.anyOf.some(isNumeric);
  // A decimal string: its pattern takes digits and nothing else.
  if (schema.type === 'string' && schema.pattern) {
    const pattern = new RegExp(schema.pattern);
    return pattern.test('10') && !['ab', '1:a', 'a1', hex64].some((text) => pattern.test(text));
  }
  return false;
}

/** Per-route adjustments so the ordinary request is answered 2xx. */
function adjust(method: string, path: string, body: Record<string, unknown>): void {
  // A fresh asset each time: a second registration of one id or ticker is a 409.
  if (method === 'POST' && path === '/admin/assets') {
    body.asset_id = `t${randomBytes(6).toString('hex')}`;
    body.ticker = `T${randomBytes(4).toString('hex')}`;
  }
}

let stack: SharedStack;
let gateway: Gateway;
let spec: { paths: Record<string, Record<string, Operation>> };

beforeAll(async () => {
  stack = await createStack();
  gateway = await startTestGateway({
    stack,
    env: { ADMIN_API_KEY: KEY, ADMIN_AUTH_MAX_FAILURES: '1000000', NOSTR_AUTO_START: 'false' },
  });
  spec = (await (await fetch(`${gateway.httpUrl}/openapi.json`)).json()) as typeof spec;
}, 60_000);
afterAll(async () => {
  await gateway?.stop('test over');
  await stack?.drop();
});

function targets(): Target[] {
  const found: Target[] = [];
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const p of operation.parameters ?? []) {
        if ((p.in === 'query' || p.in === 'path') && isNumeric(p.schema)) {
          found.push({ method: method.toUpperCase(), path, where: p.in, name: p.name, schema: p.schema });
        }
      }
      const body = operation.requestBody?.content?.['application/json']?.schema;
      for (const [name, schema] of Object.entries(body?.properties ?? {})) {
        if (isNumeric(schema))
          found.push({ method: method.toUpperCase(), path, where: 'body', name, schema });
      }
    }
  }
  return found;
}

/** The request for `target`, every other parameter ordinary, the target's value given raw. */
async function send(target: Target, raw: string | undefined): Promise<{ status: number; text: string }> {
  const operation = spec.paths[target.path]![target.method.toLowerCase()]!;
  let path = target.path;
  const query = new URLSearchParams();
  for (const p of operation.parameters ?? []) {
    const isTarget = p.name === target.name && p.in === target.where;
    const text = isTarget && raw !== undefined ? raw : String(valueFor(p.name, p.schema));
    if (p.in === 'path') path = path.replace(`{${p.name}}`, encodeURIComponent(text));
    else if (p.in === 'query' && (p.required || isTarget)) query.set(p.name, text);
  }
  const bodySchema = operation.requestBody?.content?.['application/json']?.schema;
  let body: string | undefined;
  if (bodySchema) {
    const fields = objectFor(bodySchema);
    adjust(target.method, target.path, fields);
    if (target.where === 'body') {
      fields[target.name] = '@@TARGET@@';
      const ordinary = JSON.stringify(valueFor(target.name, target.schema));
      body = JSON.stringify(fields).replace('"@@TARGET@@"', raw ?? ordinary);
    } else body = JSON.stringify(fields);
  }
  const qs = query.toString();
  const response = await fetch(`${gateway.httpUrl}${path}${qs ? `?${qs}` : ''}`, {
    method: target.method,
    headers: { 'x-admin-key': KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, text: await response.text() };
}

describe(`hostile numbers on every route (${stackName})`, () => {
  it('decimalRange matches exactly the integers from min to max', () => {
    const max = MAX_INT64;
    const pattern = new RegExp(decimalRange(1, max));
    for (const ok of ['1', '9', '10', '999999999999999999', max.toString(), (max - 1n).toString()]) {
      expect(pattern.test(ok), ok).toBe(true);
    }
    for (const bad of ['0', '01', '-1', (max + 1n).toString(), '9300000000000000000', '1e3', '']) {
      expect(pattern.test(bad), bad).toBe(false);
    }
    for (let i = 0; i < 2_000; i++) {
      const n = BigInt(`0x${randomBytes(8).toString('hex')}`);
      expect(pattern.test(n.toString()), n.toString()).toBe(n >= 1n && n <= max);
    }
    expect(new RegExp(decimalRange(0, 2100n)).test('0')).toBe(true);
    expect(new RegExp(decimalRange(0, 2100n)).test('2101')).toBe(false);
  });

  it('finds the numeric parameters the API has (query, path, body; numbers and decimal strings)', () => {
    const names = targets().map((t) => `${t.method} ${t.path} ${t.where}:${t.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'GET /sessions query:limit',
        'GET /jobs query:limit',
        'POST /vtxos/batch/create body:amount_sats',
        'POST /vtxos/batch/create body:count',
        'POST /admin/assets body:min_amount',
        'POST /admin/assets body:max_amount',
        'GET /lightning/fees/estimate query:amount',
        'POST /admin/backup/prune body:days',
      ]),
    );
  });

  it('answers 4xx to every hostile number of every numeric parameter, never 500', async () => {
    const problems: string[] = [];
    for (const target of targets()) {
      const label = `${target.method} ${target.path} ${target.where}:${target.name}`;
      const ordinary = await send(target, undefined);
      if (ordinary.status >= 300) {
        problems.push(`${label} with an ordinary value: ${ordinary.status} ${ordinary.text.slice(0, 200)}`);
        continue;
      }
      const values = target.where === 'body' ? HOSTILE_JSON : HOSTILE_TEXT;
      for (const value of values) {
        const { status, text } = await send(target, value);
        if (status < 400 || status >= 500)
          problems.push(`${label} = ${value}: ${status} ${text.slice(0, 200)}`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);
});
