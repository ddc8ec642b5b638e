// The admin audit log: one row per call to an admin or operational endpoint, accepted or
// refused, with who (address), what (method, route, parameters) and the outcome. Parameters
// and path pass through the redactor first: a key sent in the wrong place (a query string, a
// body field) is refused, and must not be kept either — the table travels into backups.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordAdminCall } from '../operations/audit-log.ts';
import type { Database } from '../store/database.ts';
import { createRedactor, type Redactor } from './redact.ts';

const MAX_PARAMS = 2_000;

export function auditHook(database: Database, redactor: Redactor = createRedactor([])) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const params = redactor.value({ query: request.query, params: request.params, body: request.body });
    const text = JSON.stringify(params);
    try {
      await recordAdminCall(database, {
        at: Date.now(),
        // The key is shared by operators; the address is what tells callers apart.
        actor: reply.statusCode === 401 || reply.statusCode === 403 ? 'unauthenticated' : 'admin-key',
        ip: request.ip,
        method: request.method,
        path: redactor.url(request.url.split('?')[0]!),
        action: request.routeOptions.url ?? redactor.url(request.url.split('?')[0]!),
        paramsJson: text.length > MAX_PARAMS ? `${text.slice(0, MAX_PARAMS)}…` : text,
        statusCode: reply.statusCode,
        requestId: String(request.id),
      });
    } catch (error) {
      request.log.error({ err: error }, 'could not write the admin audit log');
    }
  };
}
