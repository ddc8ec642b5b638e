// The one admin scope: every route that needs the admin key is registered inside this one
// encapsulated plugin, whose hooks guard and audit each of them, so a route cannot be added to the
// admin surface without its guard, nor guarded twice. Each must declare the admin key in its
// OpenAPI schema (`security`), so what /openapi.json promises is what is enforced.
import { ADMIN_SECURITY, type AdminAccess } from './admin-auth.ts';
import type { HttpServer, RoutePlugin } from './server.ts';

/** A route file's routes: those anyone may call, and those inside the admin scope. */
export interface RouteSet {
  readonly open?: RoutePlugin;
  readonly admin?: RoutePlugin;
}

const declaresAdminKey = (schema: unknown) =>
  JSON.stringify((schema as { security?: unknown } | undefined)?.security) === JSON.stringify(ADMIN_SECURITY);

export function adminScope(access: AdminAccess, plugins: readonly RoutePlugin[]): RoutePlugin {
  return async (app: HttpServer) => {
    app.addHook('onRoute', (route) => {
      if (!declaresAdminKey(route.schema)) {
        throw new Error(
          `${String(route.method)} ${route.url} is in the admin scope but its schema does not declare the admin key`,
        );
      }
    });
    app.addHook('onRequest', access.guard);
    app.addHook('onResponse', access.audit);
    for (const plugin of plugins) await app.register(plugin);
  };
}

/** The plugins to serve: every open plugin, then one admin scope holding every admin plugin. */
export function routePlugins(sets: readonly RouteSet[], access: AdminAccess): RoutePlugin[] {
  return [
    ...sets.flatMap((set) => (set.open ? [set.open] : [])),
    adminScope(
      access,
      sets.flatMap((set) => (set.admin ? [set.admin] : [])),
    ),
  ];
}
