export { type CodeLayerOptions, codeLayerBuilder, codeLayerDockerfile, codeLayerOptions } from './code-layer.js';
