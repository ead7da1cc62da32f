import { describe, expect, test } from 'vitest';
import { fromEmulatorImageRef, readEmulatorConnection, toEmulatorImageRef } from './emulator-connection.js';
import { ConfigError } from './errors.js';

const complete = {
  VERTEX_LAUNCH_EMULATOR_HTTP: 'http://127.0.0.1:8123',
  VERTEX_LAUNCH_EMULATOR_GRPC: '127.0.0.1:8124',
  VERTEX_LAUNCH_EMULATOR_CA: '/tmp/vxl/ca.pem',
};

function thrown(env: Record<string, string | undefined>): ConfigError {
  try {
    readEmulatorConnection(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('readEmulatorConnection', () => {
  test('is undefined when no emulator variable is set', () => {
    expect(readEmulatorConnection({ PATH: '/usr/bin', VERTEX_LAUNCH_EMULATOR_HTTP: '  ' })).toBeUndefined();
  });

  test('reads a complete connection', () => {
    expect(readEmulatorConnection(complete)).toEqual({
      httpUrl: 'http://127.0.0.1:8123',
      grpcHost: '127.0.0.1',
      grpcPort: 8124,
      caFile: '/tmp/vxl/ca.pem',
    });
  });

  test('accepts an IPv6 loopback gRPC address and normalises the HTTP URL', () => {
    expect(
      readEmulatorConnection({
        ...complete,
        VERTEX_LAUNCH_EMULATOR_HTTP: 'http://[::1]:9000/',
        VERTEX_LAUNCH_EMULATOR_GRPC: '[::1]:9001',
      }),
    ).toMatchObject({ httpUrl: 'http://[::1]:9000', grpcHost: '::1', grpcPort: 9001 });
  });

  test('names every missing variable when only some are set', () => {
    const error = thrown({ VERTEX_LAUNCH_EMULATOR_HTTP: complete.VERTEX_LAUNCH_EMULATOR_HTTP });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues.map((i) => i.path)).toEqual(['VERTEX_LAUNCH_EMULATOR_GRPC', 'VERTEX_LAUNCH_EMULATOR_CA']);
    expect(error.message).toContain('VERTEX_LAUNCH_EMULATOR_GRPC is not set');
    expect(error.hint).toContain('vertex-launch emulator start');
  });

  test('rejects malformed values', () => {
    const error = thrown({
      ...complete,
      VERTEX_LAUNCH_EMULATOR_HTTP: 'https://127.0.0.1',
      VERTEX_LAUNCH_EMULATOR_GRPC: '127.0.0.1',
    });
    expect(error.issues).toEqual([
      {
        path: 'VERTEX_LAUNCH_EMULATOR_HTTP',
        message: '"https://127.0.0.1" is not a URL like http://127.0.0.1:8123',
        severity: 'error',
      },
      {
        path: 'VERTEX_LAUNCH_EMULATOR_GRPC',
        message: '"127.0.0.1" is not host:port like 127.0.0.1:8124',
        severity: 'error',
      },
    ]);
  });
});

describe('the emulator registry', () => {
  test('is read from VERTEX_LAUNCH_EMULATOR_REGISTRY when set', () => {
    expect(readEmulatorConnection({ ...complete, VERTEX_LAUNCH_EMULATOR_REGISTRY: '127.0.0.1:8125' })).toEqual({
      ...readEmulatorConnection(complete),
      registry: '127.0.0.1:8125',
    });
    expect(readEmulatorConnection(complete)).not.toHaveProperty('registry');
  });

  test('must be a loopback host:port, and alone it is an incomplete connection', () => {
    const bad = thrown({ ...complete, VERTEX_LAUNCH_EMULATOR_REGISTRY: 'registry.example.com:443' });
    expect(bad.issues).toEqual([
      {
        path: 'VERTEX_LAUNCH_EMULATOR_REGISTRY',
        message: '"registry.example.com:443" is not a loopback host:port like 127.0.0.1:8125',
        severity: 'error',
      },
    ]);
    const alone = thrown({ VERTEX_LAUNCH_EMULATOR_REGISTRY: '127.0.0.1:8125' });
    expect(alone.issues.map((i) => i.path)).toEqual([
      'VERTEX_LAUNCH_EMULATOR_HTTP',
      'VERTEX_LAUNCH_EMULATOR_GRPC',
      'VERTEX_LAUNCH_EMULATOR_CA',
    ]);
  });

  test('Artifact Registry URIs map onto the registry and back, reversibly', () => {
    const connection = { registry: '127.0.0.1:8125' };
    const uris = [
      'us-central1-docker.pkg.dev/proj-123/train/trainer:v1',
      'europe-docker.pkg.dev/example.com/proj-123/repo/team/app@sha256:' + 'a'.repeat(64),
      'us-docker.pkg.dev/proj-123/repo/img',
    ];
    for (const uri of uris) {
      const local = toEmulatorImageRef(uri, connection);
      expect(local).toBe(`127.0.0.1:8125/${uri}`);
      expect(fromEmulatorImageRef(local)).toBe(uri);
      expect(toEmulatorImageRef(local, connection)).toBe(local);
    }
  });

  test('leaves other references alone', () => {
    const connection = { registry: '127.0.0.1:8125' };
    expect(toEmulatorImageRef('us-central1-docker.pkg.dev/p/r/i:t', undefined)).toBe(
      'us-central1-docker.pkg.dev/p/r/i:t',
    );
    expect(toEmulatorImageRef('us-central1-docker.pkg.dev/p/r/i:t', {})).toBe('us-central1-docker.pkg.dev/p/r/i:t');
    expect(toEmulatorImageRef('busybox:latest', connection)).toBe('busybox:latest');
    expect(toEmulatorImageRef('gcr.io/p/i:t', connection)).toBe('gcr.io/p/i:t');
    expect(fromEmulatorImageRef('127.0.0.1:8125/library/busybox')).toBe('127.0.0.1:8125/library/busybox');
    expect(fromEmulatorImageRef('registry.example.com:443/us-docker.pkg.dev/p/r/i')).toBe(
      'registry.example.com:443/us-docker.pkg.dev/p/r/i',
    );
    expect(fromEmulatorImageRef('us-docker.pkg.dev/p/r/i')).toBe('us-docker.pkg.dev/p/r/i');
  });
});
