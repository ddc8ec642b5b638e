// Reads what a relay holds for a filter (up to EOSE), the way any Nostr client would.
import { Relay, type Event, type Filter } from 'nostr-tools';

export async function queryRelay(url: string, filter: Filter): Promise<Event[]> {
  const connection = await Relay.connect(url);
  try {
    return await new Promise<Event[]>((resolve) => {
      const found: Event[] = [];
      const sub = connection.subscribe([filter], {
        onevent: (event) => found.push(event),
        oneose: () => {
          sub.close();
          resolve(found);
        },
      });
    });
  } finally {
    connection.close();
  }
}
