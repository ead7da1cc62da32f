import { expect, test } from 'vitest';
import * as api from './index.js';

test('the public surface is pinned', () => {
  expect(Object.keys(api).sort()).toEqual([
    'QUEUE_DB_FILE',
    'SCHEMA_VERSION',
    'defaultQueueDbPath',
    'sqliteQueueStore',
  ]);
  expect(api.SCHEMA_VERSION).toBe(1);
  expect(api.QUEUE_DB_FILE).toBe('queues.db');
});
