// GET /queue-status: the job queues as the operator guide's runbooks read them. While Redis is
// down it answers 503 naming `redis` within a second.
import { Type } from 'typebox';
import type { JobQueue } from '../../jobs/index.ts';
import { within } from '../errors.ts';
import type { HttpServer, RoutePlugin } from '../server.ts';

const Counts = Type.Object({
  waiting: Type.Integer(),
  active: Type.Integer(),
  delayed: Type.Integer(),
  completed: Type.Integer(),
  failed: Type.Integer(),
});

/** How long a read of the queue may take before the route calls the queue unavailable. */
export const QUEUE_READ_DEADLINE_MS = 1_000;

/** The dependency a queue stands for in health reports and 503 answers. */
export const queueDependency = (queue: JobQueue) => (queue.kind === 'bullmq' ? 'redis' : 'queue');

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
