/**
 * An in-memory queue store: the whole contract, nothing persisted. For tests (SDK users' and the agent's own) and
 * one-off scripts; use `@vertex-launch/queue-sqlite` for queues that survive a restart.
 */
import { randomUUID } from 'node:crypto';
import {
  checkListLimit,
  itemNotFound,
  prepareLaunchRequest,
  prepareQueue,
  prepareQueueUpdate,
  queueExists,
  queueNotEmpty,
  queueNotFound,
} from './definitions.js';
import { QueueError } from './errors.js';
import {
  AGENT_RECORD_RETENTION_MS,
  type AgentRecord,
  type ListItemsOptions,
  type QueueDefinition,
  type QueueItem,
  type QueueStore,
} from './store.js';
import {
  abandonItem,
  admitItem,
  agentRecord,
  checkAgentHeartbeat,
  checkAgentId,
  checkClaimOptions,
  claimItem,
  completeItem,
  failForDeletedQueue,
  failItem,
  heartbeatItem,
  type ItemTransition,
  isClaimable,
  isExhausted,
  maxAttemptsOf,
  newQueueItem,
  queueClaimOrder,
  recordPhaseItem,
  requestCancelItem,
  requeueItem,
  retryItem,
} from './transitions.js';

/** Options of `memoryQueueStore`. */
export interface MemoryQueueStoreOptions {
  /** Clock in epoch milliseconds (leases, timestamps); defaults to `Date.now`. Inject one to test lease expiry. */
  now?: () => number;
}

/**
 * A queue store kept in memory (lost when the process exits). Returns copies, so callers cannot change stored
 * state by mutating results.
 */
export function memoryQueueStore(options: MemoryQueueStoreOptions = {}): QueueStore {
  const now = options.now ?? Date.now;
  const queues = new Map<string, QueueDefinition>();
  // Insertion order is enqueue order.
  const items = new Map<string, QueueItem>();
  const lastServed = new Map<string, number>();
  const agents = new Map<string, AgentRecord>();
  let serveCounter = 0;
  let closed = false;

  const open = () => {
    if (closed) throw new QueueError('storage', 'This memory queue store was closed; create a new one.');
  };
  const copy = <T>(value: T): T => structuredClone(value);
  const requireQueue = (name: string) => {
    const queue = queues.get(name);
    if (queue === undefined) throw queueNotFound(name);
    return queue;
  };
  const requireItem = (id: string) => {
    const item = items.get(id);
    if (item === undefined) throw itemNotFound(id);
    return item;
  };
  const save = (transition: ItemTransition) => {
    items.set(transition.item.id, transition.item);
    return copy(transition.item);
  };
  const fenced = (agentId: string, itemId: string, change: (item: QueueItem) => ItemTransition) => {
    open();
    checkAgentId(agentId);
    return save(change(requireItem(itemId)));
  };

  return {
    name: 'memory',

    async createQueue(input) {
      open();
      const queue = prepareQueue(input, now());
      if (queues.has(queue.name)) throw queueExists(queue.name);
      queues.set(queue.name, queue);
      return copy(queue);
    },
    async getQueue(name) {
      open();
      const queue = queues.get(name);
      return queue === undefined ? undefined : copy(queue);
    },
    async listQueues() {
      open();
      return [...queues.values()].sort((a, b) => a.name.localeCompare(b.name)).map(copy);
    },
    async updateQueue(name, patch) {
      open();
      const queue = prepareQueueUpdate(requireQueue(name), patch, now());
      queues.set(name, queue);
      return copy(queue);
    },
    async deleteQueue(name, deleteOptions = {}) {
      open();
      requireQueue(name);
      const unfinished = [...items.values()].filter((item) => item.queue === name && item.state !== 'finished');
      if (unfinished.length > 0 && deleteOptions.force !== true) throw queueNotEmpty(name, unfinished.length);
      const at = now();
      for (const item of unfinished) save(failForDeletedQueue(item, at));
      queues.delete(name);
      lastServed.delete(name);
    },

    async enqueue(queueName, request) {
      open();
      const queue = requireQueue(queueName);
      const prepared = prepareLaunchRequest(queue, request);
      const item = newQueueItem({ id: randomUUID(), queue: queueName, ...prepared }, now());
      items.set(item.id, item);
      return copy(item);
    },
    async claim(claimOptions) {
      open();
      checkClaimOptions(claimOptions);
      for (const name of claimOptions.queues) requireQueue(name);
      const at = now();
      const maxAttempts = maxAttemptsOf(claimOptions);
      for (const name of queueClaimOrder(claimOptions.queues, lastServed)) {
        for (const candidate of [...items.values()]) {
          if (candidate.queue !== name || !isClaimable(candidate, at)) continue;
          if (isExhausted(candidate, maxAttempts, at)) {
            save(abandonItem(candidate, at));
            continue;
          }
          lastServed.set(name, ++serveCounter);
          return save(claimItem(candidate, claimOptions.agentId, claimOptions.leaseMs, at));
        }
      }
      return undefined;
    },
    async heartbeat(itemId, agentId, leaseMs) {
      return fenced(agentId, itemId, (item) => heartbeatItem(item, agentId, leaseMs, now()));
    },
    async recordPhase(itemId, agentId, update) {
      return fenced(agentId, itemId, (item) => recordPhaseItem(item, agentId, update, now()));
    },
    async complete(itemId, agentId, update) {
      return fenced(agentId, itemId, (item) => completeItem(item, agentId, update, now()));
    },
    async fail(itemId, agentId, update) {
      return fenced(agentId, itemId, (item) => failItem(item, agentId, update, now()));
    },
    async requeue(itemId, agentId, reason, requeueOptions) {
      return fenced(agentId, itemId, (item) => requeueItem(item, agentId, reason, now(), requeueOptions));
    },
    async retry(itemId, agentId, update) {
      return fenced(agentId, itemId, (item) => retryItem(item, agentId, update, now()));
    },
    async admit(itemId, agentId, request) {
      open();
      checkAgentId(agentId);
      const item = requireItem(itemId);
      const peers = [...items.values()].filter((peer) => peer.queue === item.queue);
      const decision = admitItem(item, agentId, peers, request, now());
      if (!decision.admitted) return { ...decision, item: copy(decision.item) };
      return { admitted: true, item: save(decision.transition) };
    },
    async requestCancel(itemId) {
      open();
      return save(requestCancelItem(requireItem(itemId), now()));
    },
    async get(itemId) {
      open();
      const item = items.get(itemId);
      return item === undefined ? undefined : copy(item);
    },
    async list(listOptions: ListItemsOptions = {}) {
      open();
      const limit = checkListLimit(listOptions.limit);
      let all = [...items.values()].reverse();
      if (listOptions.before !== undefined) {
        const index = all.findIndex((item) => item.id === listOptions.before);
        if (index < 0) throw itemNotFound(listOptions.before);
        all = all.slice(index + 1);
      }
      return all
        .filter((item) => listOptions.queue === undefined || item.queue === listOptions.queue)
        .filter((item) => listOptions.states === undefined || listOptions.states.includes(item.state))
        .slice(0, limit)
        .map(copy);
    },
    async recordAgent(heartbeat) {
      open();
      const checked = checkAgentHeartbeat(heartbeat);
      const at = now();
      for (const [id, record] of agents) {
        if (Date.parse(record.heartbeatAt) < at - AGENT_RECORD_RETENTION_MS) agents.delete(id);
      }
      const record = agentRecord(checked, agents.get(checked.agentId), at);
      agents.set(record.agentId, record);
      return copy(record);
    },
    async listAgents() {
      open();
      const since = now() - AGENT_RECORD_RETENTION_MS;
      return [...agents.values()]
        .filter((record) => Date.parse(record.heartbeatAt) >= since)
        .sort((a, b) => b.heartbeatAt.localeCompare(a.heartbeatAt) || a.agentId.localeCompare(b.agentId))
        .map(copy);
    },
    async close() {
      closed = true;
    },
  };
}
