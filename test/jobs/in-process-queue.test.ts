// The JobQueue contract on the in-process queue (the embedded default).
import { InProcessQueue } from '../../src/jobs/in-process-queue.ts';
import { taskRegistry, type JobQueue } from '../../src/jobs/queue.ts';
import { silentLogger } from '../support/test-database.ts';
import { DATABASE_KINDS, jobQueueContract, type Implementation } from './contract.ts';

const inProcess: Implementation = {
  name: 'in-process',
  shared: false,
  async space() {
    const opened: JobQueue[] = [];
    return {
      open({ tasks, jobLog, instanceId = 'test-instance', defaults }) {
        const queue = new InProcessQueue({
          tasks: taskRegistry(tasks),
          jobLog,
          logger: silentLogger,
          instanceId,
          defaults: defaults ?? { attempts: 3, backoffMs: 50 },
        });
        opened.push(queue);
        return queue;
      },
      async close() {
        await Promise.all(opened.map((q) => q.close({ drain: false })));
      },
    };
  },
};

for (const kind of DATABASE_KINDS) jobQueueContract(inProcess, kind);
