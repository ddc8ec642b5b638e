// GET /queue-status: the job queues as the operator guide's runbooks read them. While Redis is
// down it answers 503 naming `redis` within a second.
import { Type } from 'typebox';
import type { JobQueue } from '../../jobs/index.ts';
import { within } from '../errors.ts';
import { QUEUE_READ_DEADLINE_MS, queueDependency } from '../operations.ts';
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
          summary: 'Jobs waiting, running, delayed, completed and failed per queue; 503 while Redis is down',
          tags: ['system'],
          response: {
            200: Type.Object({ backend: Type.String(), queues: Type.Record(Type.String(), Counts) }),
          },
        },
      },
      async () => ({
        backend: queue.kind,
        queues: await within(queue.stats(), QUEUE_READ_DEADLINE_MS, queueDependency(queue)),
      }),
    );
  };
}
