// The crash tests' tools for stopping the agent at a named point, without any hook in the agent: the CLI agent as a
// process, a gate the Docker build's RUN step waits on, and a hold on the agent's next queue-store write.
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type AgentChild, spawnAgentChild } from '../../agent-child.js';
import { childEnv, repoRoot } from '../../helpers.js';

export const cliBin = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');

export type { AgentLogLine } from '../../agent-child.js';

/** `vertex-launch agent --config <file>` as a child process. */
export interface AgentProcess extends AgentChild {
  /** kill -9, and wait until it is gone. */
  kill9(): Promise<void>;
  /** A standby agent: starts the agent (no-op for one started directly). */
  go(): void;
}

const running = new Set<ChildProcess>();

/**
 * A standby `vertex-launch agent`: a Node process that loads the modules the agent command loads (the CLI, the
 * runner, the Google client library, the builder) and then waits; `go` runs the CLI's `main()` with
 * `agent --config <file>` in it. Loading those modules is most of an agent's start-up, so a test that restarts the
 * agent many times starts the next one while the current one works. What runs after `go` is the CLI, unchanged.
 */
const STANDBY = `
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
const [repo, ...args] = process.argv.slice(1);
const pkg = (name) => pathToFileURL(repo + '/packages/' + name + '/dist/index.js').href;
const fromVertex = createRequire(repo + '/packages/vertex/package.json');
const { main } = await import(pkg('cli'));
await Promise.all([
  import(pathToFileURL(repo + '/packages/cli/dist/commands/agent.js').href),
  import(pkg('auth')),
  import(pkg('vertex')),
  import(pkg('builder-docker')),
  import(pkg('queue-sqlite')),
  import(pathToFileURL(fromVertex.resolve('@google-cloud/aiplatform/build/src/v1/job_service_client.js')).href),
  import(pathToFileURL(fromVertex.resolve('google-gax')).href),
]);
process.stderr.write('standby ready\\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'go') break;
}
process.exitCode = await main(['node', 'vertex-launch', ...args]);
`;

/**
 * Starts `vertex-launch agent --config <config> --log-format json` with the loopback-only guard and the given
 * environment: the built CLI itself, or with `standby`, a standby process (see {@link STANDBY}) that starts the
 * agent on {@link AgentProcess.go}.
 */
export function startAgentProcess(
  config: string,
  env: Record<string, string | undefined>,
  options: { standby?: boolean } = {},
): AgentProcess {
  const args = ['agent', '--config', config, '--log-format', 'json'];
  const agent = spawnAgentChild(
    options.standby ? ['--input-type=module', '-e', STANDBY, '--', repoRoot, ...args] : [cliBin, ...args],
    { env: childEnv({ ...env, VERTEX_LAUNCH_QUEUE_DB: undefined }), stdin: options.standby ? 'pipe' : 'ignore' },
  );
  const { child, exited } = agent;
  running.add(child);
  void exited.then(() => running.delete(child));
  return {
    ...agent,
    async kill9() {
      child.kill('SIGKILL');
      const { signal } = await exited;
      if (signal !== 'SIGKILL')
        throw new Error(`the agent exited on its own (${signal}) before kill -9: ${agent.stderr()}`);
    },
    go() {
      child.stdin?.end('go\n');
    },
  };
}

/** Kills every agent process still running (afterAll). */
export function killAllAgents(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * A gate on loopback that a Dockerfile's `RUN wget http://127.0.0.1:<port>/gate/<name>` waits on: requests for a
 * closed name are held (the build is stuck in that RUN step) until {@link BuildGate.open}; open names answer at once.
 * Every request is counted, so a test sees when a build reached the step and how often it ran.
 */
export class BuildGate {
  private readonly closed = new Set<string>();
  private readonly waiting = new Map<string, ServerResponse[]>();
  private readonly hits = new Map<string, number>();
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const name = /^\/gate\/([\w-]+)$/.exec(req.url ?? '')?.[1];
      if (!name) {
        res.writeHead(404).end();
        return;
      }
      this.hits.set(name, (this.hits.get(name) ?? 0) + 1);
      if (this.closed.has(name)) {
        const list = this.waiting.get(name) ?? [];
        list.push(res);
        this.waiting.set(name, list);
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`gate ${name}\n`);
      }
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
  }

  /** The RUN line that waits on `name`. */
  runLine(name: string): string {
    return `RUN wget -q -O /gate.txt http://127.0.0.1:${this.port}/gate/${name}`;
  }

  close(name: string): void {
    this.closed.add(name);
  }

  open(name: string): void {
    this.closed.delete(name);
    for (const res of this.waiting.get(name) ?? []) {
      if (!res.destroyed) res.writeHead(200, { 'content-type': 'text/plain' }).end(`gate ${name}\n`);
    }
    this.waiting.delete(name);
  }

  hitsOf(name: string): number {
    return this.hits.get(name) ?? 0;
  }

  async stop(): Promise<void> {
    for (const name of [...this.closed]) this.open(name);
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

interface SqliteDb {
  exec(sql: string): void;
  close(): void;
}

/**
 * Holds the agent right after it claimed an item: a trigger on the queue database makes the agent's first phase write
 * for that item (`claimed` -> anything) spin inside SQLite for a few seconds. The SQLite driver is synchronous, so the
 * whole agent process stands still with the claim committed and nothing else done — the point "after claim" — until
 * the test kills it; the spinning transaction dies uncommitted with the process. {@link StoreHold.release} drops the
 * trigger. Needs no hook in the agent; the trigger is removed before the next agent starts.
 */
export class StoreHold {
  private readonly db: SqliteDb;

  constructor(path: string) {
    const require = createRequire(join(repoRoot, 'packages', 'queue-sqlite', 'package.json'));
    const Database = require('better-sqlite3') as new (file: string, options: { timeout: number }) => SqliteDb;
    this.db = new Database(path, { timeout: 5000 });
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS crash_test_spin (x INTEGER);
       DELETE FROM crash_test_spin;
       WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300) INSERT INTO crash_test_spin SELECT x FROM c;`,
    );
  }

  /** The next write that moves the item of run `runId` on from phase `claimed` spins for several seconds (~6 s here). */
  holdAfterClaim(runId: string): void {
    if (!/^[\w-]+$/.test(runId)) throw new Error(`unexpected run id ${runId}`);
    this.db.exec(
      `DROP TRIGGER IF EXISTS crash_test_hold;
       CREATE TRIGGER crash_test_hold BEFORE UPDATE ON items
       WHEN OLD.run_id = '${runId}' AND OLD.phase = 'claimed' AND NEW.phase IS NOT 'claimed'
       BEGIN SELECT sum(a.x * b.x + c.x) FROM crash_test_spin a, crash_test_spin b, crash_test_spin c; END;`,
    );
  }

  release(): void {
    this.db.exec('DROP TRIGGER IF EXISTS crash_test_hold');
  }

  close(): void {
    this.release();
    this.db.exec('DROP TABLE IF EXISTS crash_test_spin');
    this.db.close();
  }
}
