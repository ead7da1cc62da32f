// A TCP proxy on 127.0.0.1 in front of the test server that can break connections at chosen moments: all of them at
// once, or the one that sends the next COMMIT — after the server got it (its answer is lost: the commit happened but
// the client cannot know) or before (the commit never reaches the server).
import { createServer, type Server, Socket } from 'node:net';

/** `Q` + int32 length 11 + "COMMIT\0": the simple-protocol message node-postgres sends for `query('COMMIT')`. */
const COMMIT = Buffer.from([0x51, 0, 0, 0, 11, ...Buffer.from('COMMIT\0', 'latin1')]);

/** What the next COMMIT should meet. */
export type CommitFault = 'lose-answer' | 'lose-commit';

export class BreakingProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private fault: CommitFault | undefined;
  /** COMMITs broken so far. */
  broken = 0;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      const pair = { client, upstream };
      this.pairs.add(pair);
      let muted = false;
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      upstream.connect(this.target.port, this.target.host);
      client.on('data', (chunk: Buffer) => {
        const fault = this.fault;
        if (fault !== undefined && chunk.includes(COMMIT)) {
          this.fault = undefined;
          this.broken += 1;
          if (fault === 'lose-commit') {
            end();
            return;
          }
          // Forward the COMMIT, drop the answer, and cut the client off once the server has had time to commit.
          muted = true;
          upstream.write(chunk);
          setTimeout(end, 150);
          return;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (!muted) client.write(chunk);
      });
      client.on('error', end);
      upstream.on('error', end);
      client.on('close', end);
      upstream.on('close', end);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
  }

  /** The next COMMIT that passes meets `fault`. */
  breakNextCommit(fault: CommitFault): void {
    this.fault = fault;
  }

  /** Cuts every connection now (as a network failure or a failover would). */
  cutAll(): number {
    const n = this.pairs.size;
    for (const { client, upstream } of [...this.pairs]) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    return n;
  }

  async stop(): Promise<void> {
    this.cutAll();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
