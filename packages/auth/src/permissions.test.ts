import { KNOWN_PERMISSIONS } from '@vertex-launch/emulator';
import { expect, test } from 'vitest';
import { LAUNCH_PERMISSIONS, LEGACY_PERMISSION_REPLACEMENTS, vertexPermission } from './permissions.js';

test('the legacy ml.jobs.* permissions map to their Vertex AI replacements', () => {
  expect(['ml.jobs.create', 'ml.jobs.list', 'ml.jobs.get'].map(vertexPermission)).toEqual([
    'aiplatform.customJobs.create',
    'aiplatform.customJobs.list',
    'aiplatform.customJobs.get',
  ]);
  expect(vertexPermission('storage.objects.get')).toBe('storage.objects.get');
  for (const replacement of Object.values(LEGACY_PERMISSION_REPLACEMENTS)) {
    expect(LAUNCH_PERMISSIONS.map((p) => p.permission)).toContain(replacement);
  }
});

test('every launch permission is one the emulator knows, and only actAs is checked on the job service account', () => {
  for (const p of LAUNCH_PERMISSIONS) expect(KNOWN_PERMISSIONS).toContain(p.permission);
  expect(LAUNCH_PERMISSIONS.filter((p) => p.scope === 'job-service-account').map((p) => p.permission)).toEqual([
    'iam.serviceAccounts.actAs',
  ]);
});
