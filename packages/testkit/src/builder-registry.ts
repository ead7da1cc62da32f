/**
 * Reads an image back from the emulator's Docker registry over the distribution API, the way a runtime would
 * pull it: manifest, config (platform, entrypoint) and the file list of every layer. Used by the builder
 * conformance suite to check what a builder pushed without trusting the builder's own report.
 */
import { gunzipSync } from 'node:zlib';

/** What {@link readRegistryImage} found. */
export interface RegistryImage {
  /** `Docker-Content-Digest` of the manifest. */
  digest: string;
  os: string | undefined;
  architecture: string | undefined;
  entrypoint: string[] | null | undefined;
  cmd: string[] | null | undefined;
  workingDir: string | undefined;
  labels: Record<string, string>;
  /** Every path in every layer (no leading `/`, directories without trailing `/`). */
  files: Set<string>;
  /** Reads a file's content from the top-most layer that has it. */
  readFile(path: string): string | undefined;
}

const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

/** Splits `host:port/name:tag` into the repository name (without host) and the tag. */
function splitRef(localRef: string): { host: string; name: string; reference: string } {
  const slash = localRef.indexOf('/');
  const host = localRef.slice(0, slash);
  const rest = localRef.slice(slash + 1);
  const at = rest.indexOf('@');
  if (at >= 0) return { host, name: rest.slice(0, at), reference: rest.slice(at + 1) };
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) return { host, name: rest.slice(0, colon), reference: rest.slice(colon + 1) };
  return { host, name: rest, reference: 'latest' };
}

interface TarFile {
  path: string;
  content: Buffer | undefined;
}

function cString(buf: Buffer, start: number, length: number): string {
  const slice = buf.subarray(start, start + length);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString('utf8');
}

/** Lists the entries of a (decompressed) tar archive: ustar, pax `path` records and GNU long names. */
export function listTar(tar: Buffer): TarFile[] {
  const out: TarFile[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = Number.parseInt(cString(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 48);
    const prefix = cString(header, 345, 155);
    const name = cString(header, 0, 100);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const match = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (match) longName = match[1];
      continue;
    }
    if (type === 'L') {
      longName = cString(body, 0, body.length);
      continue;
    }
    if (type === 'g') continue;
    const path = (longName ?? (prefix ? `${prefix}/${name}` : name)).replace(/^\.?\//, '').replace(/\/$/, '');
    longName = undefined;
    out.push({ path, content: type === '0' || type === '\0' ? Buffer.from(body) : undefined });
  }
  return out;
}

/**
 * Reads `localRef` (`127.0.0.1:<port>/<AR path>:<tag>`) from the emulator registry with Docker's Basic
 * credentials (`oauth2accesstoken` + an access token).
 */
export async function readRegistryImage(localRef: string, token: string): Promise<RegistryImage> {
  const { host, name, reference } = splitRef(localRef);
  const authorization = `Basic ${Buffer.from(`oauth2accesstoken:${token}`).toString('base64')}`;
  const get = async (path: string, accept?: string): Promise<Response> => {
    const res = await fetch(`http://${host}/v2/${name}/${path}`, {
      headers: { authorization, ...(accept ? { accept } : {}) },
    });
    if (res.status !== 200) {
      throw new Error(`GET ${host}/v2/${name}/${path} answered ${res.status}: ${await res.text()}`);
    }
    return res;
  };
  const manifestRes = await get(`manifests/${reference}`, MANIFEST_ACCEPT);
  const digest = manifestRes.headers.get('docker-content-digest') ?? '';
  const manifest = (await manifestRes.json()) as { config: { digest: string }; layers: { digest: string }[] };
  const config = (await (await get(`blobs/${manifest.config.digest}`)).json()) as {
    os?: string;
    architecture?: string;
    config?: {
      Entrypoint?: string[] | null;
      Cmd?: string[] | null;
      WorkingDir?: string;
      Labels?: Record<string, string> | null;
    };
  };
  const files = new Set<string>();
  const contents = new Map<string, Buffer>();
  for (const layer of manifest.layers) {
    const blob = Buffer.from(await (await get(`blobs/${layer.digest}`)).arrayBuffer());
    const tar = blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
    for (const entry of listTar(tar)) {
      files.add(entry.path);
      if (entry.content !== undefined) contents.set(entry.path, entry.content);
    }
  }
  return {
    digest,
    os: config.os,
    architecture: config.architecture,
    entrypoint: config.config?.Entrypoint,
    cmd: config.config?.Cmd,
    workingDir: config.config?.WorkingDir,
    labels: config.config?.Labels ?? {},
    files,
    readFile: (path) => contents.get(path.replace(/^\//, ''))?.toString('utf8'),
  };
}
