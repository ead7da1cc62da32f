import { VertexLaunchError, type VertexLaunchErrorCode, type VertexLaunchErrorOptions } from '../errors.js';

/** Why a queue store refused an operation. */
export type QueueErrorReason =
  | 'queue_not_found'
  | 'queue_exists'
  | 'queue_not_empty'
  | 'item_not_found'
  | 'invalid_argument'
  | 'invalid_transition'
  | 'lease_lost'
  | 'storage';

// `lease_lost` is what an agent sees when another agent took over its work: it must stop, like an interrupt.
// `storage` (file not writable, database corrupt) is fixed in the setup, like a config file. The rest are usage
// mistakes: nothing was changed.
const CODES: Record<QueueErrorReason, VertexLaunchErrorCode> = {
  queue_not_found: 'CONFIG_INVALID',
  queue_exists: 'CONFIG_INVALID',
  queue_not_empty: 'CONFIG_INVALID',
  item_not_found: 'CONFIG_INVALID',
  invalid_argument: 'CONFIG_INVALID',
  invalid_transition: 'CONFIG_INVALID',
  lease_lost: 'INTERRUPTED',
  storage: 'CONFIG_FILE',
};

/**
 * A queue store refused an operation. `reason` says why (agents check `lease_lost`); the message names the queue,
 * item or file and what to do next.
 */
export class QueueError extends VertexLaunchError {
  override name = 'QueueError';
  readonly reason: QueueErrorReason;
  /** The queue concerned, when there is one. */
  readonly queue: string | undefined;
  /** The item concerned, when there is one. */
  readonly itemId: string | undefined;

  constructor(
    reason: QueueErrorReason,
    message: string,
    options: VertexLaunchErrorOptions & { queue?: string; itemId?: string } = {},
  ) {
    super(CODES[reason], message, options);
    this.reason = reason;
    this.queue = options.queue;
    this.itemId = options.itemId;
  }
}

/** True when `error` is a `QueueError` saying the agent lost its lease: it must stop working on the item. */
export function isLeaseLost(error: unknown): error is QueueError {
  return error instanceof QueueError && error.reason === 'lease_lost';
}

/**
 * True when `error` is a `QueueError` with reason `storage`: the store could not do it now (the database is locked or
 * busy, the connection is gone, the disk is full). Nothing was changed, or (a connection lost during a commit) the
 * outcome is unknown; trying again later may succeed. An agent retries such writes and never fails a launch for one.
 */
export function isStoreUnavailable(error: unknown): error is QueueError {
  return error instanceof QueueError && error.reason === 'storage';
}
