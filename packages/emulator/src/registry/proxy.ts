/**
 * The emulator's Docker registry as clients see it: a Node reverse proxy on 127.0.0.1 in front of
 * `docker-registry`, speaking the distribution protocol and checking credentials the way Artifact Registry
 * does. Docker sends `Basic oauth2accesstoken:<access token>`; the token must be one the emulator issued and
 * its principal must hold `artifactregistry.repositories.downloadArtifacts` (pulls) or `uploadArtifacts`
 * (pushes) on the repository. Image names are full Artifact Registry paths
 * (`<loc>-docker.pkg.dev/<project>/<repo>/<image>`); the repository must exist in the Artifact Registry API,
 * as on Google. Bodies are streamed both ways; nothing is buffered.
 */
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { RepositoryStore } from '../artifactregistry/repositories.js';
import { EmulatorError, type Principal, type ServiceContext } from '../context.js';
import { sendJson as sendJsonAnswer } from '../http/server.js';
import type { RegistryBackend } from './backend.js';
import { parseRegistryName, type RegistryImageName } from './names.js';

/** Options of {@link startRegistryProxy}. */
export interface RegistryProxyOptions {
  ctx: ServiceContext;
  /** Port to listen on (0: a free one). The proxy always listens on 127.0.0.1, which Docker treats as insecure-OK. */
  port: number;
  backend: RegistryBackend;
  repositories: RepositoryStore;
  /** Resolves an `Authorization: Bearer` value to a principal (throws UNAUTHENTICATED). */
  authenticate(authorization: string | undefined): Principal;
}

/** A running registry proxy. */
export interface RegistryProxy {
  /** `127.0.0.1:<port>`: the registry address Docker pushes to and pulls from. */
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

const PATH = /^\/v2\/(.+)\/(manifests\/[^/]+|blobs\/uploads\/[^/]*|blobs\/[^/]+|tags\/list)$/;
const HOP_BY_HOP = new Set([
  'authorization',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

/** A distribution-spec error answer. */
class RegistryHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the proxy on 127.0.0.1. */
export async function startRegistryProxy(options: RegistryProxyOptions): Promise<RegistryProxy> {
  const { ctx, repositories, backend } = options;
  const realm = () => `vertex-launch emulator registry ${address}`;
  let address = '';

  /** The bearer form of Docker's Basic credentials; throws a 401 for anything else. */
  const principalOf = (req: IncomingMessage): Principal => {
    const header = req.headers.authorization ?? '';
    let bearer: string | undefined;
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (basic) {
      const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      if (colon < 0 || user !== 'oauth2accesstoken') {
        throw new RegistryHttpError(
          401,
          'UNAUTHORIZED',
          `Unsupported registry user "${colon < 0 ? '' : user}": log in as oauth2accesstoken with an access token as the password.`,
        );
      }
      bearer = `Bearer ${decoded.slice(colon + 1)}`;
    } else if (/^Bearer\s+\S+/i.test(header)) {
      bearer = header;
    }
    if (!bearer) {
      throw new RegistryHttpError(
        401,
        'UNAUTHORIZED',
        'authentication required: log in as oauth2accesstoken with an access token the emulator issued.',
      );
    }
    try {
      return options.authenticate(bearer);
    } catch (error) {
      const detail = error instanceof EmulatorError ? error.message : 'invalid credentials';
      throw new RegistryHttpError(401, 'UNAUTHORIZED', `authentication failed: ${detail}`);
    }
  };

  const repositoryOf = (image: RegistryImageName, fullName: string) => {
    const repo =
      repositories.isOurProject(image.project) && repositories.find(image.project, image.location, image.repository);
    if (!repo) {
      throw new RegistryHttpError(
        404,
        'NAME_UNKNOWN',
        `Repository "${repositories.canonicalName(image.project, image.location, image.repository)}" not found. Create it first (gcloud artifacts repositories create ${image.repository} --repository-format=docker --location=${image.location}); image ${fullName}.`,
      );
    }
    if (repo.format !== 'DOCKER') {
      throw new RegistryHttpError(
        400,
        'UNSUPPORTED',
        `Repository "${repo.name}" has format ${repo.format}; Docker images need a DOCKER repository.`,
      );
    }
    return repo;
  };

  const authorizeOn = async (req: IncomingMessage, permission: string, resource: string) => {
    principalOf(req);
    try {
      await ctx.authorize(bearerOf(req), permission, resource);
    } catch (error) {
      if (error instanceof EmulatorError && error.code === 'PERMISSION_DENIED') {
        throw new RegistryHttpError(
          403,
          'DENIED',
          `Permission "${permission}" denied on resource "${resource}" (or it may not exist)`,
        );
      }
      throw error;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://registry');
    const method = req.method ?? 'GET';
    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      principalOf(req);
      return sendJson(res, method, 200, {});
    }
    if (url.pathname === '/v2/_catalog') {
      principalOf(req);
      return catalog(req, res, url);
    }
    const m = PATH.exec(url.pathname);
    if (!m) throw new RegistryHttpError(404, 'NOT_FOUND', `${url.pathname} is not a registry API path.`);
    const fullName = m[1] as string;
    principalOf(req);
    const image = parseRegistryName(fullName);
    if (!image) {
      throw new RegistryHttpError(
        404,
        'NAME_UNKNOWN',
        `"${fullName}" is not an Artifact Registry image path. Push as ${address}/<location>-docker.pkg.dev/<project>/<repository>/<image> (toLocalImageRef of the Artifact Registry URI).`,
      );
    }
    const repo = repositoryOf(image, fullName);
    const write = method !== 'GET' && method !== 'HEAD';
    const permission =
      method === 'DELETE'
        ? 'artifactregistry.repositories.deleteArtifacts'
        : write
          ? 'artifactregistry.repositories.uploadArtifacts'
          : 'artifactregistry.repositories.downloadArtifacts';
    const call = write ? 'artifactregistry.docker.push' : 'artifactregistry.docker.pull';
    await ctx.beforeCall(call);
    await authorizeOn(req, permission, repo.name);
    if (repo.immutableTags && method === 'PUT' && /^manifests\/(?!sha256:)/.test(m[2] as string)) {
      await refuseRetag(fullName, (m[2] as string).slice('manifests/'.length));
    }
    await forward(req, res, (status, headers) => {
      if (method === 'PUT' && status === 201 && (m[2] as string).startsWith('manifests/')) {
        const digest = headers['docker-content-digest'];
        if (typeof digest === 'string') repositories.recordUpload(fullName, digest);
      }
    });
    await ctx.afterCall(call);
  };

  const refuseRetag = async (fullName: string, tag: string) => {
    const base = await backend.url();
    const res = await fetch(`${base}/v2/${fullName}/manifests/${tag}`, { method: 'HEAD' });
    if (res.status === 200) {
      throw new RegistryHttpError(
        400,
        'MANIFEST_INVALID',
        `The repository has enabled tag immutability and tag ${tag} of ${fullName} already exists.`,
      );
    }
  };

  const catalog = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const base = await backend.url();
    const upstream = await fetch(`${base}/v2/_catalog${url.search}`);
    const body = (await upstream.json()) as { repositories?: string[] };
    const visible: string[] = [];
    for (const name of body.repositories ?? []) {
      const image = parseRegistryName(name);
      const repo = image && repositories.find(image.project, image.location, image.repository);
      if (!repo) continue;
      try {
        await ctx.authorize(bearerOf(req), 'artifactregistry.repositories.downloadArtifacts', repo.name);
        visible.push(name);
      } catch {
        /* not readable by the caller */
      }
    }
    sendJson(res, req.method ?? 'GET', 200, { repositories: visible });
  };

  const forward = async (
    req: IncomingMessage,
    res: ServerResponse,
    onResponse: (status: number, headers: IncomingMessage['headers']) => void,
  ) => {
    const base = new URL(await backend.url());
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    }
    await new Promise<void>((resolve, reject) => {
      const upstream = request(
        { host: base.hostname, port: base.port, method: req.method, path: req.url, headers },
        (up) => {
          const status = up.statusCode ?? 502;
          const out: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(up.headers)) {
            if (v === undefined || (HOP_BY_HOP.has(k) && k !== 'authorization')) continue;
            out[k] = k === 'location' && typeof v === 'string' ? rewriteLocation(v, base.host, address) : v;
          }
          onResponse(status, up.headers);
          res.writeHead(status, out);
          up.pipe(res);
          up.once('end', resolve);
          up.once('error', reject);
        },
      );
      upstream.once('error', reject);
      req.pipe(upstream);
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(req, res, error, realm()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  address = `127.0.0.1:${port}`;
  return {
    address,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function bearerOf(req: IncomingMessage): string {
  const header = req.headers.authorization ?? '';
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return header;
  const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
  return `Bearer ${decoded.slice(decoded.indexOf(':') + 1)}`;
}

function rewriteLocation(location: string, backendHost: string, proxyAddress: string): string {
  try {
    const url = new URL(location);
    if (url.host === backendHost) url.host = proxyAddress;
    return url.toString();
  } catch {
    return location; // relative: already right
  }
}

function sendJson(
  res: ServerResponse,
  method: string,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
) {
  sendJsonAnswer(
    res,
    status,
    body,
    { 'Docker-Distribution-API-Version': 'registry/2.0', ...extra },
    { omitBody: method === 'HEAD' },
  );
}

function sendError(req: IncomingMessage, res: ServerResponse, error: unknown, realm: string): void {
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  req.resume();
  let status = 500;
  let code = 'UNKNOWN';
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof RegistryHttpError) {
    status = error.status;
    code = error.code;
  } else if (error instanceof EmulatorError) {
    status = error.httpStatus;
    code = error.code === 'UNAVAILABLE' || error.code === 'FAILED_PRECONDITION' ? 'UNAVAILABLE' : error.code;
    if (error.code === 'FAILED_PRECONDITION') status = 503;
  } else {
    message = `Internal error in the emulator registry: ${message}`;
  }
  const extra: Record<string, string> = {};
  if (status === 401) extra['WWW-Authenticate'] = `Basic realm="${realm}"`;
  sendJson(res, req.method ?? 'GET', status, { errors: [{ code, message, detail: null }] }, extra);
}
