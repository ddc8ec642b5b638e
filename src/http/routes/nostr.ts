// The Nostr transport, for operators: identity, relays with their state and counters, intake
// counters; start and stop (admin key). Nothing here can make the gateway sign an event.
import { Type } from 'typebox';
import type { NostrService } from '../../nostr/service.ts';
import { ADMIN_SECURITY } from '../admin-auth.ts';
import type { RouteSet } from '../admin-scope.ts';
import type { HttpServer } from '../server.ts';

const Relay = Type.Object({
  url: Type.String(),
  state: Type.String(),
  subscribed: Type.Boolean(),
  authenticated: Type.Boolean(),
  connected_since: Type.Union([Type.String(), Type.Null()]),
  next_retry_at: Type.Union([Type.String(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  cursor: Type.Union([Type.Integer(), Type.Null()]),
  counters: Type.Record(Type.String(), Type.Integer()),
});

const Status = Type.Object({
  running: Type.Boolean(),
  pubkey: Type.String(),
  npub: Type.String(),
  previous_pubkeys: Type.Array(Type.String()),
  embedded_relay: Type.Union([Type.String(), Type.Null()]),
  relays: Type.Array(Relay),
  intake: Type.Record(Type.String(), Type.Integer()),
  outbox_pending: Type.Integer(),
});

const Running = Type.Object({ running: Type.Boolean() });

export function nostrRoutes(service: NostrService): RouteSet {
  return {
    open: async (app: HttpServer) => {
      app.get(
        '/nostr/status',
        {
          schema: {
            summary: 'Gateway pubkey (hex and npub), relays with state and counters, intake counters',
            tags: ['nostr'],
            response: { 200: Status },
          },
        },
        async () => service.status(),
      );
      app.get(
        '/nostr/relays',
        {
          schema: {
            summary: 'Each relay with its state, cursor, last error and counters',
            tags: ['nostr'],
            response: { 200: Type.Object({ relays: Type.Array(Relay) }) },
          },
        },
        async () => ({ relays: (await service.status()).relays }),
      );
    },
    admin: async (app: HttpServer) => {
      app.post(
        '/nostr/start',
        {
          schema: {
            summary: 'Start Nostr intake (relay connections, subscriptions, publishing)',
            tags: ['nostr'],
            security: ADMIN_SECURITY,
            response: { 200: Running },
          },
        },
        async () => {
          await service.start();
          return { running: service.running };
        },
      );
      app.post(
        '/nostr/stop',
        {
          schema: {
            summary: 'Stop Nostr intake; /ready answers 503 until it is started again',
            tags: ['nostr'],
            security: ADMIN_SECURITY,
            response: { 200: Running },
          },
        },
        async () => {
          await service.stop();
          return { running: service.running };
        },
      );
    },
  };
}
