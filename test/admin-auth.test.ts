import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { Secret } from '../src/config.ts';
import { adminGuard } from '../src/http/admin-auth.ts';
import { createHttpServer, type HttpServer } from '../src/http/server.ts';
import { createLogger } from '../src/logging.ts';

const KEY = 'k'.repeat(40);

async function server(key: Secret | undefined, clock = { t: 0 }) {
  const guard = adminGuard(key, { maxFailures: 3, windowMs: 1_000, now: () => clock.t });
  return createHttpServer(createLogger({ level: 'silent' }), [
    async (app: HttpServer) => {
      app.post(
        '/admin/thing',
        { onRequest: guard, schema: { response: { 200: Type.Object({ ok: Type.Boolean() }) } } },
        async () => ({ ok: true }),
      );
    },
  ]);
}

describe('admin key guard', () => {
  it('accepts the key in the header only', async () => {
    const app = await server(new Secret(KEY));
    expect(
      (await app.inject({ method: 'POST', url: '/admin/thing', headers: { 'x-admin-key': KEY } })).statusCode,
    ).toBe(200);
    const viaQuery = await app.inject({ method: 'POST', url: `/admin/thing?x-admin-key=${KEY}` });
    expect(viaQuery.statusCode).toBe(401);
    expect(viaQuery.json()).toEqual({
      error: { code: 'unauthorized', message: 'missing or wrong x-admin-key header' },
    });
  });

  it('refuses a wrong key of any length, then rate-limits that address, then lets it try again', async () => {
    const clock = { t: 0 };
    const app = await server(new Secret(KEY), clock);
    const post = (key: string, remoteAddress = '10.0.0.1') =>
      app.inject({ method: 'POST', url: '/admin/thing', headers: { 'x-admin-key': key }, remoteAddress });
    for (const wrong of ['k', KEY.slice(0, -1) + 'j', KEY + 'k'])
      expect((await post(wrong)).statusCode).toBe(401);
    const limited = await post('still-wrong');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');
    clock.t = 1_001;
    expect((await post('wrong-again')).statusCode).toBe(401);
  });

  it('never refuses the right key: after ten wrong ones from its address it still passes', async () => {
    const app = await createHttpServer(createLogger({ level: 'silent' }), [
      async (instance: HttpServer) => {
        const guard = adminGuard(new Secret(KEY)); // the default: 10 wrong keys a minute
        instance.post('/admin/thing', { onRequest: guard }, async () => ({ ok: true }));
      },
    ]);
    const post = (key: string, remoteAddress: string) =>
      app.inject({ method: 'POST', url: '/admin/thing', headers: { 'x-admin-key': key }, remoteAddress });
    for (let i = 0; i < 10; i++) expect((await post(`wrong-${i}`, '10.0.0.1')).statusCode).toBe(401);
    expect((await post('wrong-10', '10.0.0.1')).statusCode).toBe(429);
    // The right key from the same address, in the same minute, passes — every time.
    expect((await post(KEY, '10.0.0.1')).statusCode).toBe(200);
    expect((await post(KEY, '10.0.0.1')).statusCode).toBe(200);
    // Failures are per client: another address's wrong keys are its own.
    expect((await post('wrong', '10.0.0.2')).statusCode).toBe(401);
    for (let i = 0; i < 20; i++) await post(`noise-${i}`, '10.0.0.3');
    expect((await post('wrong', '10.0.0.2')).statusCode).toBe(401);
    expect((await post(KEY, '10.0.0.3')).statusCode).toBe(200);
  });

  it('is closed when ADMIN_API_KEY is unset', async () => {
    const app = await server(undefined);
    const response = await app.inject({
      method: 'POST',
      url: '/admin/thing',
      headers: { 'x-admin-key': 'anything' },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json().error.code).toBe('forbidden');
  });
});
