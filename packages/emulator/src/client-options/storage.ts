/**
 * Options that point the real `@google-cloud/storage` client (7.x) at the emulator with a bearer token on
 * EVERY request.
 *
 * What storage 7.22 does with a custom `apiEndpoint` (read from build/cjs/src/nodejs-common/util.js,
 * resumable-upload.js and file.js):
 * - JSON API calls go through `makeAuthenticatedRequest`, which skips auth entirely for a custom endpoint
 *   unless `useAuthWithCustomEndpoint: true`. With it, the header comes from storage's OWN google-auth-library
 *   (9.x) `GoogleAuth.authorizeRequest`, which spreads `client.getRequestHeaders()` into the request; a
 *   google-auth-library 10 client returns a `Headers` instance there, and spreading it yields `{}`, so its
 *   Authorization header is silently lost.
 * - Resumable uploads (`createWriteStream()`, and `file.save()`, which is resumable by default) build their
 *   upload config in `File#startResumableUpload_` WITHOUT `useAuthWithCustomEndpoint`, so `resumable-upload.js`
 *   swaps the auth client for plain gaxios for any non-googleapis host: the session-initiating POST carries no
 *   token even with `useAuthWithCustomEndpoint: true` and a storage-own `OAuth2Client`. Only
 *   `file.createResumableUpload()` passes the flag.
 * - Request interceptors (`interceptors_`, a documented StorageOptions member) are applied by
 *   `Service#request_` to every JSON API, multipart and media request, and are folded into
 *   `customRequestOptions.headers` for both resumable paths (session POST and chunk PUTs).
 *
 * So the clean, version-independent way is an interceptor that sets `Authorization: Bearer <token>`; no auth
 * client (and no dependency on storage's bundled google-auth-library) is needed. This module is type-only: the
 * caller constructs `new Storage(storageClientOptions(...))` with its own copy of the client.
 */

/**
 * A `@google-cloud/storage` request interceptor (`StorageOptions.interceptors_[]`). The request options are
 * typed loosely so this module needs none of the client's types yet stays assignable to its `Interceptor`.
 */
export interface StorageRequestInterceptor {
  // biome-ignore lint/suspicious/noExplicitAny: must accept and return the client's own request option types
  request: (reqOpts: any) => any;
}

/** Input of {@link storageClientOptions}. */
export interface StorageClientOptionsInput {
  /** The emulator's HTTP base URL, e.g. `http://127.0.0.1:8123` (no path). */
  httpUrl: string;
  /** Project to bill/create buckets in (sent as `project=` on bucket create/list). */
  projectId: string;
  /**
   * Access token the emulator issued. A function is called for every request (synchronously), so a caller can
   * hand out a refreshed token; it must return the bare token, without `Bearer `.
   */
  token: string | (() => string);
}

/** Options for `new Storage(...)` (assignable to `StorageOptions` of @google-cloud/storage 7.x). */
export interface StorageClientOptions {
  /** The emulator's HTTP base URL, where the storage JSON API is served. */
  apiEndpoint: string;
  /** The project new buckets are created in. */
  projectId: string;
  /** Keep the client's own auth path off: the token comes from the interceptor. */
  useAuthWithCustomEndpoint: false;
  /** Sets `Authorization: Bearer <token>` on every request, resumable uploads included. */
  interceptors_: StorageRequestInterceptor[];
}

function normalizeHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (typeof (headers as { forEach?: unknown }).forEach === 'function' && !Array.isArray(headers)) {
    // A fetch `Headers` instance: copy its entries (spreading it would lose them).
    const out: Record<string, string> = {};
    (headers as { forEach(cb: (value: string, key: string) => void): void }).forEach((value, key) => {
      out[key] = value;
    });
    return out;
  }
  return { ...(headers as Record<string, string>) };
}

/**
 * Builds the options that make the real Cloud Storage client talk to the emulator at `httpUrl`, sending
 * `Authorization: Bearer <token>` on every request, including resumable and chunked uploads.
 *
 * @example
 * ```ts
 * import { Storage } from '@google-cloud/storage';
 * const storage = new Storage(storageClientOptions({ httpUrl: emu.httpUrl, projectId: 'p', token }));
 * ```
 */
export function storageClientOptions(input: StorageClientOptionsInput): StorageClientOptions {
  let endpoint: URL;
  try {
    endpoint = new URL(input.httpUrl);
  } catch {
    throw new Error(
      `[vertex-launch] [emulator:storage] httpUrl "${input.httpUrl}" is not a URL; pass the emulator's base URL such as http://127.0.0.1:8123.`,
    );
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
    throw new Error(`[vertex-launch] [emulator:storage] httpUrl must be http(s), got ${endpoint.protocol}`);
  }
  if (!input.projectId) throw new Error('[vertex-launch] [emulator:storage] Missing required option `projectId`.');
  const tokenOf = typeof input.token === 'function' ? input.token : () => input.token as string;
  if (typeof input.token === 'string' && input.token === '') {
    throw new Error('[vertex-launch] [emulator:storage] Missing required option `token` (an emulator access token).');
  }
  const interceptor: StorageRequestInterceptor = {
    request(reqOpts: { headers?: unknown }) {
      const headers = normalizeHeaders(reqOpts.headers);
      for (const key of Object.keys(headers)) if (key.toLowerCase() === 'authorization') delete headers[key];
      headers.Authorization = `Bearer ${tokenOf()}`;
      reqOpts.headers = headers;
      return reqOpts;
    },
  };
  return {
    apiEndpoint: endpoint.origin,
    projectId: input.projectId,
    useAuthWithCustomEndpoint: false,
    interceptors_: [interceptor],
  };
}
