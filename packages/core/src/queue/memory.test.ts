import { expect, test } from 'vitest';
// Relative, not `@vertex-launch/testkit`: testkit depends on core, so core cannot depend on it.
import { queueStoreConformance } from '../../../testkit/src/index.js';
import { QueueError } from './errors.js';
import { memoryQueueStore } from './memory.js';

queueStoreConformance('memory', async (clock) => {
  const store = memoryQueueStore({ now: clock.now });
  return { store, cleanup: () => store.close() };
});

test('a closed memory store refuses every call', async () => {
  const store = memoryQueueStore();
  await store.close();
  const error = await store.listQueues().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(QueueError);
  expect((error as QueueError).reason).toBe('storage');
  expect((error as QueueError).message).toContain('closed');
});
