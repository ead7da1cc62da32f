// `vertex-launch auth check` as users run it: the built CLI as a process against the emulator.
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu?.stop();
});

describe('vertex-launch auth check (process)', () => {
  it('reports the strategy, project and region, and every launch permission held: exit 0, no token printed', async () => {
    const r = await runCli(['auth', 'check', '--json'], { env: emu.env });
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.project ?? body.projectId).toBe('vxl-emulator');
    expect(body.region).toBe('us-central1');
    expect(JSON.stringify(body)).toContain('environment');
    expect(r.stdout + r.stderr).not.toContain(emu.adminToken);
  });

  it('names the missing permission and exits 3 for a principal that lacks it', async () => {
    const member = 'serviceAccount:weak@vxl-emulator.iam.gserviceaccount.com';
    emu.iam.grant(member, ['aiplatform.customJobs.get', 'aiplatform.customJobs.list']);
    const token = emu.iam.issueToken(member);
    const r = await runCli(['auth', 'check'], { env: { ...emu.env, GOOGLE_OAUTH_ACCESS_TOKEN: token } });
    expect(r.code).toBe(3);
    expect(r.stdout + r.stderr).toContain('aiplatform.customJobs.create');
    expect(r.stdout + r.stderr).not.toContain(token);
  });
});
