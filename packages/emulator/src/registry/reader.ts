/** Reads the local registry's real content (catalog, tags, manifests) over its HTTP API, for the Artifact Registry API. */
import type { RegistryBackend } from './backend.js';

/** A manifest the registry serves. */
export interface ManifestInfo {
  digest: string;
  mediaType: string;
  /** Bytes of the config and layers (or of the referenced manifests, for an index). */
  sizeBytes: number;
  /** Per-platform entries of an image index / manifest list. */
  platforms: { digest: string; mediaType: string; architecture?: string; os?: string; variant?: string }[];
}

const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

interface ManifestJson {
  mediaType?: string;
  config?: { size?: number };
  layers?: { size?: number }[];
  manifests?: {
    digest: string;
    mediaType: string;
    size?: number;
    platform?: { architecture?: string; os?: string; variant?: string };
  }[];
}

/** Read-only access to the registry behind the proxy (no auth: the caller has authorized already). */
export class RegistryReader {
  constructor(private readonly backend: RegistryBackend) {}

  /** Every image name in the registry. */
  async catalog(): Promise<string[]> {
    const names: string[] = [];
    let path = '/v2/_catalog?n=1000';
    for (;;) {
      const res = await fetch(`${await this.backend.url()}${path}`);
      const body = (await res.json()) as { repositories?: string[] };
      names.push(...(body.repositories ?? []));
      const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
      if (!next) return names;
      path = next;
    }
  }

  /** The tags of an image (empty when the image does not exist). */
  async tags(imageName: string): Promise<string[]> {
    const res = await fetch(`${await this.backend.url()}/v2/${imageName}/tags/list`);
    if (res.status === 404) {
      await res.arrayBuffer();
      return [];
    }
    const body = (await res.json()) as { tags?: string[] | null };
    return (body.tags ?? []).sort();
  }

  /** The manifest `reference` (tag or digest) of an image, or undefined. */
  async manifest(imageName: string, reference: string): Promise<ManifestInfo | undefined> {
    const res = await fetch(`${await this.backend.url()}/v2/${imageName}/manifests/${reference}`, {
      headers: { accept: ACCEPT },
    });
    if (res.status !== 200) {
      await res.arrayBuffer();
      return undefined;
    }
    const json = (await res.json()) as ManifestJson;
    const digest = res.headers.get('docker-content-digest') ?? '';
    const mediaType = json.mediaType ?? res.headers.get('content-type') ?? '';
    const platforms = (json.manifests ?? []).map((m) => ({
      digest: m.digest,
      mediaType: m.mediaType,
      ...(m.platform?.architecture ? { architecture: m.platform.architecture } : {}),
      ...(m.platform?.os ? { os: m.platform.os } : {}),
      ...(m.platform?.variant ? { variant: m.platform.variant } : {}),
    }));
    const sizeBytes = json.manifests
      ? json.manifests.reduce((n, m) => n + (m.size ?? 0), 0)
      : (json.config?.size ?? 0) + (json.layers ?? []).reduce((n, l) => n + (l.size ?? 0), 0);
    return { digest, mediaType, sizeBytes, platforms };
  }
}
