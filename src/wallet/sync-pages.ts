// sync_state answers VTXOs in pages (by id, default 200, at most 500; `next_cursor` continues).
// The verifier signs only for VTXOs the wallet knows, so a wallet holding more than one page must
// read them all, or it would refuse honest challenges spending a VTXO of a later page. Balances
// and sessions are the same on every page; the first page's are kept.

/** The largest page the gateway serves: the fewest round trips. */
export const SYNC_PAGE_LIMIT = 500;

type Page = Record<string, unknown>;

function vtxosOf(page: Page | null): unknown[] {
  const list = page?.vtxos;
  if (!Array.isArray(list)) throw new Error('sync_state answered without a vtxos list');
  return list as unknown[];
}

/** Asks page after page until `next_cursor` is null; the first page with every page's VTXOs. */
export async function syncAllPages(
  ask: (params: Record<string, unknown>) => Promise<unknown>,
): Promise<Page> {
  const first = (await ask({ limit: SYNC_PAGE_LIMIT })) as Page;
  const vtxos = [...vtxosOf(first)]; // also proves `first` is an object
  const assets = { ...(first.assets as Record<string, unknown> | undefined) };
  const seen = new Set<string>();
  let cursor = first.next_cursor;
  while (cursor !== null && cursor !== undefined) {
    if (typeof cursor !== 'string') throw new Error('sync_state answered a next_cursor that is not a string');
    // A gateway that hands back a cursor twice would keep the wallet asking forever.
    if (seen.has(cursor)) throw new Error(`sync_state repeated the cursor ${cursor}`);
    seen.add(cursor);
    const page = (await ask({ limit: SYNC_PAGE_LIMIT, cursor })) as Page;
    const more = vtxosOf(page);
    if (more.length === 0 && typeof page.next_cursor === 'string')
      throw new Error('sync_state answered an empty page that continues');
    vtxos.push(...more);
    Object.assign(assets, page.assets as Record<string, unknown> | undefined);
    cursor = page.next_cursor;
  }
  return { ...first, vtxos, assets, next_cursor: null };
}
