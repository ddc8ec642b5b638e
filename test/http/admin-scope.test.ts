// The admin surface is one scope: every operation /openapi.json documents with the admin key
// answers 401 without it (none is left open by a forgotten hook), and a route put in the scope
// without declaring the key in its schema stops the server from starting.
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { Secret } from '../../src/config.ts';
import { adminGuard } from '../../src/http/admin-auth.ts';
import { routePlugins } from '../../src/http/admin-scope.ts';
import { createHttpServer, type HttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logging.ts';
import { createStack, startTestGateway, type SharedStack } from '../nostr/support.ts';

const KEY = 'admin-scope-test-key-'.padEnd(48, 'k');

interface OpenApi {
  paths: Record<string, Record<string, { security?: { adminKey?: unknown }[] }>>;
}

describe('admin scope', () => {
  let stack: SharedStack;
  let gateway: Gateway;

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({ stack, env: { ADMIN_API_KEY: KEY } });
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await stack?.drop();
  });

  it('answers 401 without the key on every operation documented with it', async () => {
    const spec = (await (await fetch(`${gateway.httpUrl}/openapi.json`)).json()) as OpenApi;
    const guarded: string[] = [];
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (!operation.security?.some((s) => s.adminKey !== undefined)) continue;
        // Path parameters get a placeholder: the guard answers before anything reads them.
        const url = `${gateway.httpUrl}${path.replace(/\{[^}]+\}/g, 'x')}`;
        const response = await fetch(url, {
          method: method.toUpperCase(),
          ...(method === 'get' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }),
        });
        expect(response.status, `${method.toUpperCase()} ${path}`).toBe(401);
        guarded.push(`${method.toUpperCase()} ${path}`);
      }
    }
    // The known admin surface is there (so the loop above really ran over it).
    expect(guarded).toEqual(
      expect.arrayContaining([
        'POST /admin/assets',
        'GET /admin/ledger/check',
        'POST /nostr/start',
        'POST /sessions/cleanup',
        'POST /grpc/reconnect/{service}',
        'POST /admin/backup/create',
      ]),
    );
    expect(guarded.length).toBeGreaterThan(20);
  });

  it('refuses to start with a route in the scope that does not declare the admin key', async () => {
    const undeclared = async (app: HttpServer) => {
      app.get('/admin/undeclared', { schema: { response: { 200: Type.Object({}) } } }, async () => ({}));
    };
    const access = { guard: adminGuard(new Secret(KEY)), audit: async () => {}, configured: true };
    await expect(
      createHttpServer(createLogger({ level: 'silent' }), routePlugins([{ admin: undeclared }], access)),
    ).rejects.toThrow(
      /GET \/admin\/undeclared is in the admin scope but its schema does not declare the admin key/,
    );
  });
});
