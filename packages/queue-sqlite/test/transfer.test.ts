import { join } from 'node:path';
import { queueTransferConformance } from '@vertex-launch/testkit';
import { tempDir } from '../../../test/helpers.js';
import { sqliteQueueStore } from '../src/index.js';

queueTransferConformance('sqlite', async (clock) => {
  const dir = await tempDir('vxl-queue-sqlite-import-');
  const store = sqliteQueueStore({ path: join(dir.path, 'queues.db'), now: clock.now });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dir.cleanup();
    },
  };
});
