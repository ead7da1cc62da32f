export {
  type ArtifactRegistryOptions,
  type ArtifactRegistryPlugin,
  artifactRegistry,
  type DockerPushCredentials,
  type RepositoryInfo,
  type RepositoryRef,
} from './client.js';
export * from './image-uri.js';
