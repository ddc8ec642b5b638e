// The admin audit log: one row per call to an admin or operational endpoint, accepted or
// refused, with who (address), what (method, route, parameters) and the outcome. Parameters
// and path pass through the redactor first: a key sent in the wrong place (a query string, a
// body field) is refused, and must not be kept either — the table travels into backups.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../store/database.ts';
import { createRedactor, type Redactor } from './redact.ts';

const MAX_PARAMS = 2_000;

export function auditHook(database: Database, redactor: Redactor = createRedactor([])) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const params = redactor.value({ query: request.query, params: request.params, body: request.body });
    const text = JSON.stringify(params);
    try {
      await database.db
        .insertInto('admin_audit_log')
        .values({
          created_at: Date.now(),
          // The key is shared by operators; the address is what tells callers apart.
          actor: reply.statusCode === 401 || reply.statusCode === 403 ? 'unauthenticated' : 'admin-key',
          ip: request.ip,
          method: request.method,
          path: redactor.url(request.url.split('?')[0]!).slice(0, 255),
          action: (request.routeOptions.url ?? redactor.url(request.url.split('?')[0]!)).slice(0, 128),
          params_json: text.length > MAX_PARAMS ? `${text.slice(0, MAX_PARAMS)}…` : text,
          status_code: reply.statusCode,
          request_id: String(request.id).slice(0, 64),
        })
        .execute();
    } catch (error) {
      request.log.error({ err: error }, 'could not write the admin audit log');
    }
  };
}
