/**
 * The Cloud Storage JSON API surface of the emulator, served as Google serves it so the real
 * `@google-cloud/storage` client works unchanged:
 *
 * - `/storage/v1/b` (bucket list/insert), `/storage/v1/b/{b}` (get/delete), `/storage/v1/b/{b}/o` (list),
 *   `/storage/v1/b/{b}/o/{o}` (metadata get/patch/delete, `alt=media` reads);
 * - `/upload/storage/v1/b/{b}/o?uploadType=multipart|media|resumable` and resumable session URIs
 *   (`...&upload_id=...`: chunk PUTs answered with 308 + `Range`, status queries `Content-Range: bytes * /N`,
 *   DELETE cancels);
 * - `/download/storage/v1/b/{b}/o/{o}` media reads (with `Range`).
 *
 * Object data is streamed to files under the storage root (`<dataDir>/storage`, or a temp dir removed on
 * close) while CRC-32C and MD5 are computed; nothing holds a whole object in memory.
 *
 * The parts: ./model.ts (buckets, objects, sessions, data files, persistence), ./routes.ts (paths and the bucket and
 * object calls), ./resumable.ts (the resumable upload protocol), ./requests.ts and ./resources.ts (reading requests,
 * writing resources).
 *
 * Auth: every call needs a valid bearer token and the IAM permission (`storage.buckets.*`,
 * `storage.objects.*` on `projects/_/buckets/<b>`), except PUT/DELETE on a resumable session URI: as on real
 * Cloud Storage, the unguessable `upload_id` is the capability (the session-initiating POST is authorized).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpService, ServiceContext } from '../../context.js';
import type { EmulatorService } from '../contract.js';
import { sendStorageError } from './http.js';
import { StorageModel } from './model.js';
import { ResumableUploads } from './resumable.js';
import { matchRoute, StorageRoutes } from './routes.js';

/** Creates the Cloud Storage JSON API surface (see the module comment for the paths it serves). */
export function storageService(ctx: ServiceContext): HttpService {
  const model = new StorageModel(ctx);
  const routes = new StorageRoutes(ctx, model, new ResumableUploads(ctx, model));
  return {
    name: 'storage',
    async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
      let route: ReturnType<typeof matchRoute>;
      try {
        route = matchRoute(url.pathname);
      } catch (err) {
        // A storage path with a bad percent-encoding: ours, answered as an error.
        sendStorageError(req, res, err);
        return true;
      }
      if (route === undefined) return false;
      try {
        await model.ensureReady();
        await routes.dispatch(route, req, res, url);
      } catch (err) {
        sendStorageError(req, res, err);
      }
      return true;
    },
    flush: () => model.flush(),
    close: () => model.close(),
  };
}

/** The Cloud Storage JSON API, as an emulator service (state in `<dataDir>/storage`, flushed on stop). */
export const storage: EmulatorService = {
  name: 'storage',
  create: (core) => ({ http: storageService(core.ctx) }),
};
