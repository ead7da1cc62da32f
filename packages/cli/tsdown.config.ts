import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: ['src/index.ts', 'src/bin.ts', 'src/commands/*.ts'],
  format: 'esm',
  platform: 'node',
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  fixedExtension: false,
  // The demo's job ships with the CLI (one source: examples/hello).
  copy: [
    {
      from: ['../../examples/hello/Dockerfile', '../../examples/hello/train.sh', '../../examples/hello/queue.yaml'],
      to: 'dist/demo/hello',
    },
  ],
});
