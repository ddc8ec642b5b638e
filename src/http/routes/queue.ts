// GET /queue-status: the job queues as the operator guide's runbooks read them.
import { Type } from 'typebox';
import type { JobQueue } from '../../jobs/index.ts';
import type { HttpServer, RoutePlugin } from '../server.ts';

const Counts = Type.Object({
  waiting: Type.Integer(),
  active: Type.Integer(),
  delayed: Type.Integer(),
  completed: Type.Integer(),
  failed: Type.Integer(),
});

export function queueRoutes(queue: JobQueue): RoutePlugin {
  return async (app: HttpServer) => {
    app.get(
      '/queue-status',
      {
        schema: {
          summary: 'Jobs waiting, running, delayed, completed and failed per queue',
          tags: ['system'],
          response: {
            200: Type.Object({ backend: Type.String(), queues: Type.Record(Type.String(), Counts) }),
          },
        },
      },
      async () => ({ backend: queue.kind, queues: await queue.stats() }),
    );
  };
}
