// `@vertex-launch/core/build`: the builder contract and registry, `resolveImage()`, and the deterministic build
// context (scan, fingerprint, pack) that builder plugins use.

export * from './check-image.js';
export * from './context.js';
export * from './context-error.js';
export * from './contract.js';
export * from './dockerfile.js';
export * from './registry.js';
export * from './resolve-image.js';
export {
  CREDENTIAL_KIND_DESCRIPTIONS,
  type CredentialFinding,
  type CredentialKind,
  SNIFF_BYTES,
  SNIFF_MAX_FILE_SIZE,
} from './secrets.js';
export { defaultCacheDir } from './stat-cache.js';
