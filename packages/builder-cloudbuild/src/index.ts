export { type CloudBuildConfig, type CloudBuildConfigInput, cloudBuildConfig } from './build-config.js';
export { type CloudBuildOptions, cloudBuild, cloudBuildOptions, type DigestLookup } from './builder.js';
