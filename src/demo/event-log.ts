// The demo's window on Nostr: one subscription on the gateway's relay to every kind of the
// protocol (and the solver's), printing each event once — kind, short id, who to whom, and a
// short content. Encrypted content is shown decrypted when one of the demo's own wallets is a
// party (the demo holds their keys); the gateway's side stays opaque.
import type { Event } from 'nostr-tools';
import { KIND } from '../domain/nostr-protocol.ts';
import type { RelayPool, WalletKey } from '../wallet/index.ts';

const NAMES: Record<number, string> = {
  31500: 'service request',
  31501: 'service response',
  31502: 'notification',
  31510: 'action intent',
  31511: 'signing challenge',
  31512: 'signing response',
  31340: 'confirmation',
  31341: 'failure notice',
  31342: 'L1 commitment',
  25500: 'solver request',
  25501: 'solver answer',
};

const ENCRYPTED = new Set<number>([
  KIND.SERVICE_REQUEST,
  KIND.SERVICE_RESPONSE,
  KIND.NOTIFICATION,
  KIND.SIGNING_CHALLENGE,
  KIND.SIGNING_RESPONSE,
  KIND.FAILURE_NOTICE,
  25500,
  25501,
]);

export interface Party {
  readonly name: string;
  readonly key?: WalletKey;
}

export class EventLog {
  readonly #parties = new Map<string, Party>();
  readonly #print: (line: string) => void;
  #stop: (() => void) | undefined;
  count = 0;
  readonly byKind = new Map<number, number>();

  constructor(print: (line: string) => void) {
    this.#print = print;
  }

  party(pubkey: string, party: Party): void {
    this.#parties.set(pubkey, party);
  }

  start(pool: RelayPool, sinceS: number): void {
    this.#stop = pool.subscribe([{ kinds: Object.keys(NAMES).map(Number), since: sinceS }], (event) =>
      this.#show(event as Event),
    );
  }

  stop(): void {
    this.#stop?.();
  }

  #name(pubkey: string | undefined): string {
    if (!pubkey) return 'public';
    return this.#parties.get(pubkey)?.name ?? pubkey.slice(0, 8);
  }

  #content(event: Event, to: string | undefined): string {
    if (!ENCRYPTED.has(event.kind)) return event.content;
    // Decrypt with whichever end of the conversation is one of the demo's wallets.
    const author = this.#parties.get(event.pubkey)?.key;
    const reader = to ? this.#parties.get(to)?.key : undefined;
    try {
      if (author && to) return author.decrypt(to, event.content);
      if (reader) return reader.decrypt(event.pubkey, event.content);
    } catch {
      // not readable with the keys the demo holds
    }
    return `<encrypted, ${event.content.length} bytes>`;
  }

  #show(event: Event): void {
    this.count++;
    this.byKind.set(event.kind, (this.byKind.get(event.kind) ?? 0) + 1);
    const to = event.tags.find((t) => t[0] === 'p')?.[1];
    const route = `${this.#name(event.pubkey)} → ${event.kind === KIND.CONFIRMATION || event.kind === KIND.L1_COMMITMENT ? 'public' : this.#name(to)}`;
    const text = summary(event.kind, this.#content(event, to)).replace(/\s+/g, ' ');
    const short = text.length > 110 ? `${text.slice(0, 107)}...` : text;
    this.#print(`  [${event.kind} ${NAMES[event.kind] ?? ''}] ${event.id.slice(0, 10)} ${route}: ${short}`);
  }
}

const cut = (v: unknown) => (typeof v === 'string' && v.length > 16 ? `${v.slice(0, 12)}…` : String(v));
const amounts = (list: unknown) =>
  Array.isArray(list)
    ? list
        .map((i: { amount?: unknown; asset_id?: unknown }) => `${String(i.amount)} ${String(i.asset_id)}`)
        .join('+')
    : '';

/** The few fields of a content that tell what happened; the raw JSON when it is not one of ours. */
function summary(kind: number, text: string): string {
  let c: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a peek at foreign JSON
  try {
    c = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return text;
  }
  const p = (c.params ?? {}) as Record<string, unknown>;
  switch (kind) {
    case 31500:
      return `${c.action} ${JSON.stringify(c.params)}`;
    case 31501:
      return c.status === 'ok'
        ? `ok ${Object.keys(c.result ?? {})
            .slice(0, 5)
            .join(', ')}`
        : `error ${c.error?.code} ${c.error?.message}`;
    case 31502:
      return `${c.type}${c.state ? ` ${c.state}` : ''}${c.amount ? ` ${c.amount} ${c.asset_id}` : ''}`;
    case 31510:
      return `${c.type} ${c.action_id.slice(0, 8)} ${
        p.give
          ? `give ${amounts(p.give)} receive ${amounts(p.receive)}`
          : p.vtxo_id
            ? `${cut(p.vtxo_id)} → ${(p.amounts as unknown[]).join(' + ')}`
            : `${p.amount} ${p.asset_id}`
      } fee ${c.fee?.amount} ${c.fee?.asset_id}`;
    case 31511:
      // One step since v1.1: the Ark tx and its checkpoints; the human text goes last (it may be cut).
      return `step ${c.step}/${c.step_total}: Ark tx + ${(c.psbts?.length ?? 1) - 1} checkpoint(s), ${c.sighashes?.length ?? 0} digest(s), commitment ${cut(c.context?.commitment?.hash)}: ${c.context?.human ?? ''}`;
    case 31512:
      return `step ${c.step}, ${c.signatures?.length ?? 0} signature(s)`;
    case 31340:
      return `ark tx ${cut(c.ark_txid)}: ${c.action_ids?.length ?? 0} intent(s), spent ${c.spent?.length ?? 0}, created ${amounts(c.created)}, commitment ${cut(c.commitment?.hash)}`;
    case 31341:
      return `${c.code} ${c.message}`;
    case 25500:
      return `${c.method} ${c.method === 'quote' ? `${amounts([c.params?.give])} → ${c.params?.receive_asset}` : `quote ${cut(c.params?.quote_id)} with signed leg ${cut(c.params?.leg?.id)}`}`;
    case 25501:
      return c.status === 'ok'
        ? c.result?.quote_id
          ? `quote ${cut(c.result.quote_id)}: ${amounts([c.result.give])} → ${amounts([c.result.receive])}`
          : `batch ${cut(c.result?.batch_id)} submitted`
        : `error ${c.error?.message}`;
    default:
      return text;
  }
}
