/**
 * The staging bucket of a job, as Cloud Storage reports it: whether it exists and where (Vertex AI wants it in the
 * job's region, or a multi-region or dual-region holding it). One `GET /storage/v1/b/<bucket>` of the Cloud Storage
 * JSON API (https://cloud.google.com/storage/docs/json_api/v1/buckets/get), asking only for the location fields.
 */
import {
  ApiError,
  type AuthClientLike,
  AuthError,
  endpointsOption,
  PermissionError,
  plainHeaders,
  type ServiceEndpoints,
} from '@vertex-launch/core';

/** What {@link describeBucket} found. */
export type BucketDescription =
  | { exists: false; bucket: string }
  | {
      exists: true;
      bucket: string;
      /** As Cloud Storage reports it, upper case: `US-CENTRAL1`, `US`, `NAM4`. */
      location: string;
      /** `region`, `multi-region` or `dual-region`, when reported. */
      locationType: string | undefined;
    };

/** Options of {@link describeBucket}. */
export interface DescribeBucketOptions {
  /** The bucket name, or `gs://bucket[/path]`. */
  bucket: string;
  /** Credentials (`@vertex-launch/auth`) or any client with `getRequestHeaders()`. */
  authClient: Pick<AuthClientLike, 'getRequestHeaders'>;
  /** Where Cloud Storage is (the runtime's endpoints). Default: those of `env`. */
  endpoints?: ServiceEndpoints;
  /** Environment to read the endpoints from when `endpoints` is not given. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Deadline of the call, ms. Default 20 000. */
  timeoutMs?: number;
}

const PREFIX = '[vertex-launch] [storage]';

/**
 * Whether the bucket exists, and its location. Throws {@link AuthError} when the credentials are refused (401),
 * {@link PermissionError} (`storage.buckets.get`) when the caller may not read the bucket (403), and
 * {@link ApiError} when Cloud Storage cannot be reached or fails. Never puts a token in a message.
 */
export async function describeBucket(options: DescribeBucketOptions): Promise<BucketDescription> {
  const bucket = options.bucket.replace(/^gs:\/\//, '').split('/')[0] as string;
  const base = endpointsOption(options.endpoints, options.env).storageUrl;
  const url = `${base}/storage/v1/b/${encodeURIComponent(bucket)}?fields=name,location,locationType`;
  let response: Response;
  try {
    const headers = plainHeaders(await options.authClient.getRequestHeaders(url));
    response = await fetch(url, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 20_000) });
  } catch (error) {
    if (error instanceof AuthError) throw error;
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new ApiError(
      'storage.googleapis.com',
      `${PREFIX} ${new URL(url).host} could not be reached (${cause ?? (error as Error).message}).`,
      {
        cause: error,
        hint: 'Check the network (or the emulator) and try again.',
      },
    );
  }
  const text = await response.text();
  let body: { location?: unknown; locationType?: unknown; error?: { message?: unknown } } = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  if (response.status === 404) return { exists: false, bucket };
  const detail = typeof body.error?.message === 'string' ? body.error.message : text.slice(0, 200);
  if (response.status === 401) {
    throw new AuthError(`${PREFIX} Cloud Storage refused the credentials (HTTP 401): ${detail}`, {
      hint: 'Re-authenticate (gcloud auth application-default login) and try again.',
    });
  }
  if (response.status === 403) {
    throw new PermissionError(`${PREFIX} Cannot read gs://${bucket} (HTTP 403): ${detail}`, {
      permission: 'storage.buckets.get',
      hint: `Grant storage.buckets.get on gs://${bucket} (e.g. roles/storage.legacyBucketReader).`,
    });
  }
  if (!response.ok) {
    throw new ApiError(
      'storage.googleapis.com',
      `${PREFIX} Could not get gs://${bucket}: HTTP ${response.status}: ${detail}`,
      {
        hint: 'Check the network (or the emulator) and try again.',
      },
    );
  }
  return {
    exists: true,
    bucket,
    location: String(body.location ?? ''),
    locationType: typeof body.locationType === 'string' && body.locationType !== '' ? body.locationType : undefined,
  };
}

/** Options of {@link createBucket}. */
export interface CreateBucketOptions extends DescribeBucketOptions {
  /** The project that owns the bucket. */
  project: string;
  /** Where: the job region (`us-central1`), a dual-region or a multi-region. */
  location: string;
}

/**
 * Creates the bucket in `location` with uniform bucket-level access (`POST /storage/v1/b?project=`, the JSON API's
 * `buckets.insert`). Resolves `{ created: false }` when the caller owns it already (409). Throws
 * {@link PermissionError} (`storage.buckets.create`), {@link AuthError}, or {@link ApiError} (a name taken by someone
 * else, a location that does not exist).
 */
export async function createBucket(options: CreateBucketOptions): Promise<{ bucket: string; created: boolean }> {
  const bucket = options.bucket.replace(/^gs:\/\//, '').split('/')[0] as string;
  const base = endpointsOption(options.endpoints, options.env).storageUrl;
  const url = `${base}/storage/v1/b?project=${encodeURIComponent(options.project)}`;
  let response: Response;
  try {
    const headers = plainHeaders(await options.authClient.getRequestHeaders(url));
    response = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: bucket,
        location: options.location.toUpperCase(),
        iamConfiguration: { uniformBucketLevelAccess: { enabled: true } },
      }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
    });
  } catch (error) {
    if (error instanceof AuthError) throw error;
    throw new ApiError('storage.googleapis.com', `${PREFIX} ${new URL(url).host} could not be reached.`, {
      cause: error,
      hint: 'Check the network (or the emulator) and try again.',
    });
  }
  if (response.ok) return { bucket, created: true };
  const text = await response.text();
  let detail = text.slice(0, 200);
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') detail = message;
  } catch {
    /* the text above */
  }
  if (response.status === 409 && /already own it/i.test(detail)) return { bucket, created: false };
  if (response.status === 401) {
    throw new AuthError(`${PREFIX} Cloud Storage refused the credentials (HTTP 401): ${detail}`);
  }
  if (response.status === 403) {
    throw new PermissionError(`${PREFIX} Cannot create gs://${bucket} (HTTP 403): ${detail}`, {
      permission: 'storage.buckets.create',
      hint: `Grant storage.buckets.create on project ${options.project} (roles/storage.admin).`,
    });
  }
  throw new ApiError(
    'storage.googleapis.com',
    `${PREFIX} Could not create gs://${bucket} in ${options.location}: HTTP ${response.status}: ${detail}`,
    { hint: response.status === 409 ? 'The name is taken: choose another bucket name.' : 'Check the location.' },
  );
}
