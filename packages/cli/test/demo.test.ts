import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// The README's main-job command: a real launch end to end on the bundled emulator. CI provides Docker, so the
// first test builds and runs the image for real; the second proves the fallback without Docker.
describe('vertex-launch demo', () => {
  it('builds examples/hello, launches it through a queue and an agent, and follows its logs to SUCCEEDED', async () => {
    const r = await runCli(['demo'], { timeoutMs: 110_000 });
    expect(r.stderr).toContain('jobs run with the docker executor');
    expect(r.stderr).toContain('building the busybox base image FROM scratch');
    expect(r.stderr).toMatch(/agent: submitted projects\/\d+\/locations\/us-central1\/customJobs\/\d+/);
    // The job's own output, read back from Cloud Logging:
    expect(r.stderr).toMatch(/│ hello from Vertex Launch: job \d+, 3 epochs/);
    expect(r.stderr).toContain('│ epoch 3/3 loss=0.216');
    expect(r.stderr).toMatch(/│ model would be saved to gs:\/\/vxl-demo-staging\/vertex-launch\/\w+\/model\//);
    expect(r.stdout).toMatch(
      /^✓ demo job projects\/\d+\/locations\/us-central1\/customJobs\/\d+ SUCCEEDED \(image us-central1-docker\.pkg\.dev\/vxl-emulator\/demo\/hello:ctx-[0-9a-f]{12}\)\n$/,
    );
    expect(r.stderr).toContain('emulator stopped');
    expect(r.code).toBe(0);
  }, 120_000);

  it('runs on the emulator clock without Docker and reports the outcome as JSON', async () => {
    const r = await runCli(['demo', '--no-docker', '--json', '--epochs', '2'], { timeoutMs: 110_000 });
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({
      ok: true,
      outcome: 'succeeded',
      status: 'succeeded',
      built: false,
      executor: 'clock',
      imageUri: 'us-central1-docker.pkg.dev/vxl-emulator/demo/hello:prebuilt',
    });
    expect(summary.jobName).toMatch(/^projects\/\d+\/locations\/us-central1\/customJobs\/\d+$/);
    expect(r.stderr).toContain('Docker not used (--no-docker): the job runs on the emulator clock');
    expect(r.stderr).toContain('│ Job finished with exit code 0');
  }, 120_000);
});
