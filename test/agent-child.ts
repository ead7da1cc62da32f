// A child process that logs JSON lines on stdout — `vertex-launch agent --log-format json`, or a test's own agent
// script — with its log lines parsed as they arrive and its stderr kept: what every test that runs agents as
// processes needs (packages/cli/test/agent-*.test.ts, test/reliability/*, the dashboard's browser test).
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One log line: the pino fields (`level`, `time`, `msg`, ...) and the agent's own (`agentId`, `itemId`, ...). */
export type AgentLogLine = Record<string, unknown> & { msg?: string; unparsed?: true };

/** How a child exited. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned agent process. */
export interface AgentChild {
  child: ChildProcess;
  /** Its stdout, one parsed JSON line each, as they arrive; a line that is not JSON is `{ msg: line, unparsed: true }`. */
  logs: AgentLogLine[];
  /** Its stderr so far. */
  stderr(): string;
  /** Its stdout lines and stderr so far, in the order they arrived (for failure messages). */
  output(): string;
  /** Resolves once it exited. */
  exited: Promise<ChildExit>;
  /** True until it exited. */
  alive(): boolean;
  /** Sends `signal` (default SIGTERM) unless it already exited, then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<ChildExit>;
}

/** Options of {@link spawnAgentChild}. */
export interface SpawnAgentOptions {
  /** The child's whole environment (build it with `childEnv()` of test/helpers.ts: network guarded). */
  env: NodeJS.ProcessEnv;
  /** `pipe` to write to its stdin (`child.stdin`); default `ignore` (closed). */
  stdin?: 'pipe' | 'ignore';
  /** Called with each line as it arrives (after it was parsed and pushed to `logs`). */
  onLine?: (line: AgentLogLine) => void;
}

/** Runs `node <args...>` (stdin closed unless `options.stdin` says `pipe`), collecting its JSON log lines and its stderr. */
export function spawnAgentChild(args: readonly string[], options: SpawnAgentOptions): AgentChild {
  const child = spawn(process.execPath, args, { env: options.env, stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'] });
  const logs: AgentLogLine[] = [];
  let stderr = '';
  let output = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    output += d;
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    output += `${text}\n`;
    let line: AgentLogLine;
    try {
      line = JSON.parse(text) as AgentLogLine;
    } catch {
      line = { msg: text, unparsed: true };
    }
    logs.push(line);
    options.onLine?.(line);
  });
  const exited = new Promise<ChildExit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    logs,
    stderr: () => stderr,
    output: () => output,
    exited,
    alive,
    stop: async (signal = 'SIGTERM') => {
      if (alive()) child.kill(signal);
      return exited;
    },
  };
}

/** True once the agent logged its start (`agent <id> started: ...`). */
export function agentStarted(agent: Pick<AgentChild, 'logs'>): boolean {
  return agent.logs.some((line) => typeof line.msg === 'string' && / started: /.test(line.msg));
}

/** The agent id it logs with (`agentId` of its first line that has one), once it logged one. */
export function agentIdOf(agent: Pick<AgentChild, 'logs'>): string | undefined {
  const line = agent.logs.find((l) => typeof l.agentId === 'string');
  return line?.agentId as string | undefined;
}
