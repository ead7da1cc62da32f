import { describe, expect, test } from 'vitest';
import { mergeBindings } from './admin.js';

describe('mergeBindings', () => {
  test('adds missing members to the role binding, creates missing roles, keeps everything else', () => {
    const policy = {
      etag: 'BwX1',
      version: 1,
      bindings: [
        { role: 'roles/aiplatform.user', members: ['user:a@example.com'] },
        { role: 'roles/viewer', members: ['group:team@example.com'] },
      ],
    };
    const added = mergeBindings(policy, [
      { role: 'roles/aiplatform.user', member: 'user:b@example.com' },
      { role: 'roles/aiplatform.user', member: 'user:a@example.com' },
      { role: 'roles/storage.objectAdmin', member: 'user:b@example.com' },
    ]);
    expect(added).toEqual([
      { role: 'roles/aiplatform.user', member: 'user:b@example.com' },
      { role: 'roles/storage.objectAdmin', member: 'user:b@example.com' },
    ]);
    expect(policy).toEqual({
      etag: 'BwX1',
      version: 1,
      bindings: [
        { role: 'roles/aiplatform.user', members: ['user:a@example.com', 'user:b@example.com'] },
        { role: 'roles/viewer', members: ['group:team@example.com'] },
        { role: 'roles/storage.objectAdmin', members: ['user:b@example.com'] },
      ],
    });
  });

  test('a conditional binding of the role does not count, and is left as it is', () => {
    const condition = { expression: 'request.time < timestamp("2030-01-01T00:00:00Z")', title: 'until 2030' };
    const policy = { bindings: [{ role: 'roles/aiplatform.user', members: ['user:a@example.com'], condition }] };
    expect(mergeBindings(policy, [{ role: 'roles/aiplatform.user', member: 'user:a@example.com' }])).toHaveLength(1);
    expect(policy.bindings).toEqual([
      { role: 'roles/aiplatform.user', members: ['user:a@example.com'], condition },
      { role: 'roles/aiplatform.user', members: ['user:a@example.com'] },
    ]);
  });

  test('nothing missing: nothing added, the policy unchanged', () => {
    const policy = { bindings: [{ role: 'roles/aiplatform.user', members: ['user:a@example.com'] }] };
    const before = structuredClone(policy);
    expect(mergeBindings(policy, [{ role: 'roles/aiplatform.user', member: 'user:a@example.com' }])).toEqual([]);
    expect(policy).toEqual(before);
  });
});
