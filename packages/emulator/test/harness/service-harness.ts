// A minimal stand-in for the emulator core, to test HTTP surfaces on their own: a node:http server on
// 127.0.0.1 routing to HttpServices, and a ServiceContext whose auth, IAM, faults and clock tests control.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CodeName,
  EmulatorError,
  type HttpService,
  type Principal,
  type ServiceContext,
} from '../../src/context.js';
import { MemoryLogStore } from '../../src/logs.js';

/** A ServiceContext for tests: one valid token, a mutable permission set, injectable faults, a movable clock. */
export class TestContext implements ServiceContext {
  readonly projectId: string;
  readonly region: string;
  readonly dataDir: string | undefined;
  readonly logs: MemoryLogStore;
  /** Permissions the token's principal holds (on every resource). */
  readonly permissions: Set<string>;
  /** Every authorize() call that passed: [permission, resource]. */
  readonly authorized: Array<[string, string]> = [];
  /** Calls counted by beforeCall, by method. */
  readonly calls = new Map<string, number>();
  /** Faults to throw once per listed call: method -> queue of errors (phase before or after). */
  private readonly faults = new Map<string, Array<{ phase: 'before' | 'after'; skip: number; error: EmulatorError }>>();
  clockOffsetMs = 0;

  constructor(
    readonly token: string,
    options: { projectId?: string; region?: string; dataDir?: string; permissions?: Iterable<string> } = {},
  ) {
    this.projectId = options.projectId ?? 'test-project';
    this.region = options.region ?? 'us-central1';
    this.dataDir = options.dataDir;
    this.permissions = new Set(options.permissions ?? []);
    this.logs = new MemoryLogStore(() => this.now());
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  async authorize(authorization: string | undefined, permission: string, resource: string): Promise<Principal> {
    const m = /^Bearer (.+)$/.exec(authorization ?? '');
    if (!m) throw new EmulatorError('UNAUTHENTICATED', 'Request is missing required authentication credential.');
    if (m[1] !== this.token)
      throw new EmulatorError('UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    if (!this.permissions.has(permission)) {
      throw new EmulatorError(
        'PERMISSION_DENIED',
        `tester@test-project.iam.gserviceaccount.com does not have ${permission} access to ${resource}.`,
      );
    }
    this.authorized.push([permission, resource]);
    return {
      member: 'serviceAccount:tester@test-project.iam.gserviceaccount.com',
      email: 'tester@test-project.iam.gserviceaccount.com',
    };
  }

  /** Makes a call of `method` fail with `code`: the next one, or the one after `skip` successful calls. */
  injectFault(
    method: string,
    code: CodeName,
    message: string,
    options: { phase?: 'before' | 'after'; skip?: number } = {},
  ): void {
    const queue = this.faults.get(method) ?? [];
    queue.push({ phase: options.phase ?? 'before', skip: options.skip ?? 0, error: new EmulatorError(code, message) });
    this.faults.set(method, queue);
  }

  private take(method: string, phase: 'before' | 'after'): void {
    const queue = this.faults.get(method);
    const i = queue?.findIndex((f) => f.phase === phase) ?? -1;
    if (!queue || i < 0) return;
    const fault = queue[i]!;
    if (fault.skip > 0) {
      fault.skip--;
      return;
    }
    queue.splice(i, 1);
    throw fault.error;
  }

  async beforeCall(method: string): Promise<void> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    this.take(method, 'before');
  }

  async afterCall(method: string): Promise<void> {
    this.take(method, 'after');
  }

  consumeQuota(_meter: string): void {}
}

/** A running harness: base URL and shutdown. */
export interface Harness {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serves `services` on an ephemeral 127.0.0.1 port (404 JSON for paths none of them handles). */
export async function startHarness(services: HttpService[]): Promise<Harness> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      for (const s of services) if (await s.handle(req, res, url)) return;
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 404, message: `No handler for ${req.method} ${url.pathname}` } }));
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of services) await s.close?.();
    },
  };
}
