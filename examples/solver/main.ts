// Runs the example solver on its own:
//   npx node examples/solver/main.ts --key solver.key --http http://127.0.0.1:8000 \
//     --pair gBTC/gUSD --rate 1/10
// The key file is what `arkrelay-wallet keygen` writes (or holds just an nsec / hex key); fund
// that wallet with both assets first (`arkrelay-wallet --key solver.key lift …`).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ArkRelayWallet } from '../../src/wallet/index.ts';
import { Solver } from './solver.ts';

const { values } = parseArgs({
  options: {
    key: { type: 'string' },
    gateway: { type: 'string' },
    http: { type: 'string', default: 'http://127.0.0.1:8000' },
    relay: { type: 'string', multiple: true },
    pair: { type: 'string', default: 'gBTC/gUSD' },
    rate: { type: 'string', default: '1/10' },
    'spread-bps': { type: 'string', default: '0' },
  },
});

function fail(message: string): never {
  console.error(`solver: ${message}`);
  process.exit(2);
}

if (!values.key) fail('--key <file> is required');
const text = readFileSync(values.key, 'utf8').trim();
const secret = text.startsWith('{') ? (JSON.parse(text) as { nsec: string }).nsec : text;
const [base, quote] = values.pair.split('/');
const [numerator, denominator] = values.rate.split('/');
if (!base || !quote || !/^\d+$/.test(numerator ?? '') || !/^[1-9]\d*$/.test(denominator ?? '1')) {
  fail('--pair is BASE/QUOTE and --rate is quote units per base unit as N or N/D');
}

let gateway = values.gateway;
let relays = values.relay ?? [];
if (!gateway || relays.length === 0) {
  const status = (await (await fetch(`${values.http}/nostr/status`)).json()) as {
    pubkey: string;
    embedded_relay: string | null;
    relays: { url: string }[];
  };
  gateway ??= status.pubkey;
  if (relays.length === 0)
    relays = status.embedded_relay ? [status.embedded_relay] : status.relays.map((r) => r.url);
}

const wallet = await ArkRelayWallet.connect({ key: secret, gatewayPubkey: gateway, relays });
await wallet.syncState();
const solver = new Solver({
  wallet,
  rate: {
    base,
    quote,
    numerator: BigInt(numerator!),
    denominator: BigInt(denominator ?? '1'),
    spreadBps: BigInt(values['spread-bps']),
  },
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
});
solver.start();
const stop = () => {
  solver.stop();
  wallet.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
