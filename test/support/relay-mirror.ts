// Copies one author's events between relays, both ways, as they arrive. Any API process may
// publish any queued outbox event, but only to its own NOSTR_RELAYS: a test whose gateway
// processes listen on different relays mirrors the gateway's events so every wallet sees them.
// A copy the other relay already holds is a duplicate there and is not passed on again.
import { Relay } from 'nostr-tools/relay';

export async function mirrorAuthor(urls: readonly string[], author: string): Promise<() => void> {
  const relays = await Promise.all(urls.map((url) => Relay.connect(url)));
  const since = Math.floor(Date.now() / 1000) - 5;
  const subs = relays.map((from) =>
    from.subscribe([{ authors: [author], since }], {
      onevent: (event) => {
        for (const to of relays) if (to !== from) to.publish(event).catch(() => undefined);
      },
    }),
  );
  return () => {
    for (const sub of subs) sub.close();
    for (const relay of relays) relay.close();
  };
}
