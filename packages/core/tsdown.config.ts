import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'agent/index': 'src/agent/index.ts',
    'build/index': 'src/build/index.ts',
    'config/index': 'src/config/index.ts',
    'mapping/index': 'src/mapping/index.ts',
    'queue/index': 'src/queue/index.ts',
  },
  format: 'esm',
  platform: 'node',
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  fixedExtension: false,
});
