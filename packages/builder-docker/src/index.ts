export {
  type DockerBuilderOptions,
  type DockerRegistryAuth,
  dockerBuilder,
  dockerBuilderOptions,
  type PushCredentialSource,
} from './builder.js';
