import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: ['src/index.ts'],
  format: 'esm',
  platform: 'node',
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
  fixedExtension: false,
  // The page's stylesheet and script are served from dist/assets: nothing is fetched from a CDN.
  copy: [{ from: ['src/assets/dashboard.css', 'src/assets/dashboard.js'], to: 'dist/assets' }],
});
