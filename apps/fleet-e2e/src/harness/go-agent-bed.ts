/**
 * The built embedded server with the opamp-go test agent built beside it, for
 * the e2e specs that drive a real OpAMP client library: the REST API as one
 * JSON call (a 200, else it throws), the agents a spec starts (terminated at
 * the end), and a work directory of its own (removed at the end).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildOpampGoAgent,
  type EmbeddedServerProcess,
  type OpampGoAgentOptions,
  type OpampGoAgentProcess,
  startEmbeddedServerProcess,
  startOpampGoAgent,
  stopEmbeddedServerProcess,
} from '@opamp/testing';

export class GoAgentBed {
  server!: EmbeddedServerProcess;
  binary!: string;
  readonly agents: OpampGoAgentProcess[] = [];
  readonly work: string;

  constructor(
    prefix: string,
    /** More settings for the server (its OPAMP_* environment). */
    private readonly env: Readonly<Record<string, string>> = {},
  ) {
    this.work = mkdtempSync(join(tmpdir(), `${prefix}-`));
  }

  /** Builds the agent (the first build on a machine fetches opamp-go through the module proxy) while the server starts. */
  async start(): Promise<void> {
    [this.binary, this.server] = await Promise.all([
      buildOpampGoAgent(),
      startEmbeddedServerProcess({ dataDir: join(this.work, 'data'), startTimeoutMs: 90_000, env: this.env }),
    ]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.terminate()));
    if (this.server) await stopEmbeddedServerProcess(this.server);
    rmSync(this.work, { recursive: true, force: true });
  }

  call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${this.server.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.server.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };

  /** Starts an agent of this bed's binary (kept for the clean-up). */
  async startAgent(options: Omit<OpampGoAgentOptions, 'binary'>): Promise<OpampGoAgentProcess> {
    const agent = await startOpampGoAgent({ binary: this.binary, ...options });
    this.agents.push(agent);
    return agent;
  }
}
