// The admin audit log's store: one row per call to an admin or operational endpoint. What goes
// in a row (redacted parameters, who, the outcome) is decided by the HTTP hook (http/audit.ts).
import type { Database } from '../store/database.ts';

export interface AdminCall {
  readonly at: number;
  readonly actor: 'admin-key' | 'unauthenticated';
  readonly ip: string;
  readonly method: string;
  readonly path: string;
  readonly action: string;
  readonly paramsJson: string;
  readonly statusCode: number;
  readonly requestId: string;
}

export async function recordAdminCall(database: Database, call: AdminCall): Promise<void> {
  await database.db
    .insertInto('admin_audit_log')
    .values({
      created_at: call.at,
      actor: call.actor,
      ip: call.ip,
      method: call.method,
      path: call.path.slice(0, 255),
      action: call.action.slice(0, 128),
      params_json: call.paramsJson,
      status_code: call.statusCode,
      request_id: call.requestId.slice(0, 64),
    })
    .execute();
}
