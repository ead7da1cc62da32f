/**
 * Vertex label rules. `CustomJob.labels` in google/cloud/aiplatform/v1/custom_job.proto: "Label keys and values can be
 * no longer than 64 characters (Unicode codepoints), can only contain lowercase letters, numeric characters,
 * underscores and dashes. International characters are allowed." The Cloud labels docs
 * (https://cloud.google.com/resource-manager/docs/labels-overview#requirements) add: at most 64 labels, keys start
 * with a lowercase letter or an international character, keys and values at most 63 characters — the stricter figure,
 * used here. User labels are sent as written: a label Vertex would refuse is a validation error naming it, never a
 * silent rewrite. Only the labels the launch adds itself (`vertex-launch-*`, from run ids and queue names) are
 * sanitised to these rules.
 */

/** Longest label key or value, in characters (Unicode code points). */
export const LABEL_MAX_LENGTH = 63;
/** Most labels on one resource. */
export const MAX_LABELS = 64;
/** Prefix of the labels Vertex Launch sets itself; users may not set them. */
export const RESERVED_LABEL_PREFIX = 'vertex-launch-';
/** Prefix Vertex reserves for its system labels. */
export const SYSTEM_LABEL_PREFIX = 'aiplatform.googleapis.com/';
/** Label with the run id. */
export const RUN_ID_LABEL = 'vertex-launch-run-id';
/** Label with the launch id. */
export const LAUNCH_ID_LABEL = 'vertex-launch-launch-id';
/** Label with the queue name (only when launched through a queue). */
export const QUEUE_LABEL = 'vertex-launch-queue';
/** Label with the attempt number of a launch resubmitted after a retryable failure (absent on its first job). */
export const ATTEMPT_LABEL = 'vertex-launch-attempt';
/** How many labels the launch adds at most. */
export const RESERVED_LABEL_COUNT = 4;

/**
 * A label key Vertex accepts: a lowercase or international letter first, then lowercase or international letters
 * (with their combining marks), digits, `_` and `-`; at most 63 characters.
 */
export const LABEL_KEY_PATTERN = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{Lm}\p{M}\p{N}_-]{0,62}$/u;
/** A label value Vertex accepts: the characters of a key, any first, at most 63 characters (may be empty). */
export const LABEL_VALUE_PATTERN = /^[\p{Ll}\p{Lo}\p{Lm}\p{M}\p{N}_-]{0,63}$/u;

const codePoints = (text: string) => [...text].length;

/** Why Vertex would refuse a label key, or undefined when it is fine. */
export function labelKeyProblem(key: string): string | undefined {
  if (key === '') return 'label keys must not be empty';
  if (LABEL_KEY_PATTERN.test(key)) return undefined;
  if (codePoints(key) > LABEL_MAX_LENGTH) {
    return `label keys are at most ${LABEL_MAX_LENGTH} characters; this one has ${codePoints(key)}`;
  }
  if (key.toLowerCase() !== key && LABEL_KEY_PATTERN.test(key.toLowerCase())) {
    return `label keys are lowercase: use \`${key.toLowerCase()}\``;
  }
  if (!/^[\p{Ll}\p{Lo}]/u.test(key)) return 'label keys start with a lowercase letter (international letters too)';
  return `label keys may only hold lowercase letters (international ones too), digits, \`_\` and \`-\`, not ${badCharacters(key)}`;
}

/** Why Vertex would refuse a label value, or undefined when it is fine. */
export function labelValueProblem(value: string): string | undefined {
  if (LABEL_VALUE_PATTERN.test(value)) return undefined;
  if (codePoints(value) > LABEL_MAX_LENGTH) {
    return `label values are at most ${LABEL_MAX_LENGTH} characters; this one has ${codePoints(value)}`;
  }
  if (value.toLowerCase() !== value && LABEL_VALUE_PATTERN.test(value.toLowerCase())) {
    return `label values are lowercase: use \`${value.toLowerCase()}\``;
  }
  return `label values may only hold lowercase letters (international ones too), digits, \`_\` and \`-\`, not ${badCharacters(value)}`;
}

/** The distinct characters of `text` a label cannot hold (after lowercasing), for messages: `` `&` or a space ``. */
function badCharacters(text: string): string {
  const bad = [...new Set([...text.toLowerCase()].filter((c) => !/[\p{Ll}\p{Lo}\p{Lm}\p{M}\p{N}_-]/u.test(c)))];
  const named = bad.slice(0, 8).map((c) => (c === ' ' ? 'a space' : /\s/u.test(c) ? 'whitespace' : `\`${c}\``));
  return named.length <= 1 ? (named[0] ?? '') : `${named.slice(0, -1).join(', ')} or ${named[named.length - 1]}`;
}

/**
 * A label value Vertex accepts, for the labels the launch sets itself (run id, launch id, queue name): lowercased,
 * characters a label cannot hold become `_`, at most 63 characters (code points, never half a surrogate pair).
 */
export function sanitizeLabelValue(value: string): string {
  return [...value.toLowerCase().replace(/[^\p{Ll}\p{Lo}\p{Lm}\p{M}\p{N}_-]/gu, '_')]
    .slice(0, LABEL_MAX_LENGTH)
    .join('');
}
