// `vertex-launch launch --wait`: every state the job passes is shown, and a quiet RUNNING job a heartbeat line
// (the built CLI against the emulator).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import { runCli } from './run-cli.js';

let emu: Emulator;
let dir: { path: string; cleanup: () => Promise<void> };
let file: string;
const image = 'us-docker.pkg.dev/vxl-emulator/train/trainer:1';

beforeAll(async () => {
  // PENDING lasts longer than the tracker's first two intervals (2 s, then 3 s while nothing changes), so it is seen;
  // QUEUED is the submit's answer.
  emu = await startEmulator({
    jobTimings: { queuedMs: 1_000, pendingMs: 4_500, runningMs: 300, cancellingMs: 50 },
    quotas: { vertexReadsPerMinute: 0, vertexCreatesPerMinute: 0 },
  });
  dir = await tempDir('vxl-cli-launch-progress-');
  // launch checks that the image exists before it submits.
  await emu.seedImage(image);
  file = join(dir.path, 'queue.yaml');
  await writeFile(
    file,
    [
      'spec:',
      '  worker_pool_specs:',
      '    - machine_spec: { machine_type: n1-standard-4 }',
      '      replica_count: 1',
      '      container_spec:',
      '        image_uri: ${image_uri}',
      '        command: [python, -m, trainer]',
      '        env: [{ name: VXL_EMULATOR_RUN_MS, value: "5000" }]',
      '  staging_bucket: gs://vxl-test-bucket',
    ].join('\n'),
  );
});
afterAll(async () => {
  await emu?.stop();
  await dir?.cleanup();
});

describe('vertex-launch launch --wait progress', () => {
  it('prints QUEUED, PENDING, RUNNING and SUCCEEDED in order, and heartbeats with the last log line while RUNNING', async () => {
    const r = await runCli(['launch', '--queue-config', file, '--image', image, '--wait', '--heartbeat', '1'], {
      env: { ...emu.env, NO_COLOR: '1' },
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(0);
    const states = [...r.stderr.matchAll(/^\[\+[^\]]+\] (QUEUED|PENDING|RUNNING|SUCCEEDED)$/gm)].map((m) => m[1]);
    expect(states).toEqual(['QUEUED', 'PENDING', 'RUNNING', 'SUCCEEDED']);
    const beats = r.stderr
      .split('\n')
      .filter((line) => line.includes('still RUNNING'))
      .filter((line) => line.indexOf('still RUNNING') > 0);
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats[0]).toMatch(
      /^\[\+\d+s\] still RUNNING \(for \d+s\); last log line \(\d+(ms|s) ago\): (Job started|Running command: python -m trainer)/,
    );
    // Heartbeats come only while RUNNING: between the RUNNING and the SUCCEEDED line.
    const lines = r.stderr.split('\n');
    const running = lines.findIndex((l) => / RUNNING$/.test(l));
    const succeeded = lines.findIndex((l) => / SUCCEEDED$/.test(l));
    for (const beat of beats) {
      const at = lines.indexOf(beat);
      expect(at).toBeGreaterThan(running);
      expect(at).toBeLessThan(succeeded);
    }
  });

  it('--heartbeat 0 prints none; a bad value names the flag', async () => {
    const quiet = await runCli(['launch', '--queue-config', file, '--image', image, '--wait', '--heartbeat', '0'], {
      env: { ...emu.env, NO_COLOR: '1' },
      timeoutMs: 60_000,
    });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('still RUNNING');
    const bad = await runCli(['launch', '--queue-config', file, '--image', image, '--wait', '--heartbeat', 'often'], {
      env: { ...emu.env, NO_COLOR: '1' },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--heartbeat often: expected seconds between 0 (never) and 86400');
  });
});
