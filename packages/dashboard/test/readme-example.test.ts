import { fileURLToPath } from 'node:url';
import { expect, test, vi } from 'vitest';
import { exampleRegions, README_DRIFT, readmeBlock } from '../../../test/readme-example.js';
import { rawRequest, signIn } from './http.js';
import { example } from './readme-example.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const source = fileURLToPath(new URL('./readme-example.ts', import.meta.url));

test('the README shows the tested example', () => {
  expect(readmeBlock(readme), README_DRIFT).toBe(exampleRegions(source));
});

test('the README example serves the queue on loopback behind its token', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const { store, dashboard } = await example();
  try {
    expect(log).toHaveBeenCalledWith(`open ${dashboard.url}`);
    expect(errors).toHaveBeenCalledWith(`dashboard listening on 127.0.0.1:${dashboard.port}`);
    const { port, cookie } = await signIn(dashboard.url);
    expect((await rawRequest(port, '/')).status).toBe(401);
    const page = await rawRequest(port, '/', { headers: { cookie } });
    expect(page.body).toContain('<a href="/queues/gpu-t4">gpu-t4</a>');
  } finally {
    await dashboard.close();
    await store.close();
  }
});
