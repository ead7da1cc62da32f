/**
 * Vertex label rules: at most 64 labels; keys and values at most 63 characters of lowercase letters, digits, `_`
 * and `-`; keys start with a letter. User labels are sanitised to these rules (validation warns when that changes
 * one); the launch adds its own `vertex-launch-*` labels.
 */

/** Longest label key or value. */
export const LABEL_MAX_LENGTH = 63;
/** Most labels on one resource. */
export const MAX_LABELS = 64;
/** Prefix of the labels Vertex Launch sets itself; users may not set them. */
export const RESERVED_LABEL_PREFIX = 'vertex-launch-';
/** Label with the run id. */
export const RUN_ID_LABEL = 'vertex-launch-run-id';
/** Label with the launch id. */
export const LAUNCH_ID_LABEL = 'vertex-launch-launch-id';
/** Label with the queue name (only when launched through a queue). */
export const QUEUE_LABEL = 'vertex-launch-queue';
/** How many labels the launch adds at most. */
export const RESERVED_LABEL_COUNT = 3;

/** A label value Vertex accepts: lowercase, `[a-z0-9_-]` (others become `_`), at most 63 characters. */
export function sanitizeLabelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, LABEL_MAX_LENGTH);
}

/** A label key Vertex accepts: as a value, and starting with a letter (`l` is prefixed otherwise). */
export function sanitizeLabelKey(key: string): string {
  const value = sanitizeLabelValue(key);
  return (/^[a-z]/.test(value) ? value : `l${value}`).slice(0, LABEL_MAX_LENGTH);
}
