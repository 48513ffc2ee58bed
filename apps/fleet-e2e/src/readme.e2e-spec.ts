/**
 * README.md as a user meets it (issue 13, items 19-21): its shell blocks run
 * in order, as printed, against the built embedded server started on ports and
 * a data directory of its own; only the placeholders the README documents (the
 * default addresses, `./.opamp-data`) are substituted. Each block must exit 0,
 * and the commands before `# =>` lines print what those say. Blocks that start servers, run the
 * tests or need a Collector are marked skipped, each with its reason. The
 * Collector and supervisor YAML is parsed and held to what a real Collector
 * needs, and the lockfile to what `npm start` and `npm test` install. A
 * simulated agent stands in for the supervised Collector: the attributes and
 * capabilities of the README's supervisor.yaml, and only core components (no
 * otlphttp), so the examples' configurations must reach it and apply.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_AGENT_CAPABILITIES, SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities, RemoteConfigStatuses } from '@opamp/protocol';
import {
  type EmbeddedServerProcess,
  extractReadmeBlocks,
  isShellBlock,
  randomPortBase,
  type ReadmeBlock,
  startEmbeddedServerProcess,
  stopEmbeddedServerProcess,
  substitutePlaceholders,
  waitFor,
} from '@opamp/testing';
import { parse as parseYaml } from 'yaml';
import { loadE2eConfig } from './config/e2e.config';
import { ReadmeShell } from './harness/readme-shell';

const ROOT = join(__dirname, '..', '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = extractReadmeBlocks(README);
const shellBlocks = blocks.filter(isShellBlock);
const runBlocks = shellBlocks.filter((b) => b.skipReason === null);
const BLOCK_MS = 30_000;
/** The default addresses (npm start) as the README prints them: agents, admin, REST, gRPC. */
const DEFAULT_PORTS = [4320, 4321, 4380, 4381];

type Yaml = Record<string, unknown>;
const yamlFile = (name: string): Yaml => {
  const block = blocks.find((b) => b.fileName === name);
  if (!block) throw new Error(`README.md has no YAML block starting with '# ${name}'`);
  return parseYaml(block.body) as Yaml;
};
const at = (doc: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v as Yaml | undefined)?.[k], doc);
const title = (b: ReadmeBlock) => `line ${b.line}: ${b.body.split('\n')[0].slice(0, 70)}`;

describe('README.md', () => {
  it('marks every shell block it does not run with a reason, and runs the rest', () => {
    const skipped = shellBlocks.filter((b) => b.skipReason !== null);
    expect(skipped.filter((b) => b.skipReason === '').map((b) => b.line)).toEqual([]);
    expect(skipped.length).toBeGreaterThan(0);
    expect(runBlocks.length).toBeGreaterThanOrEqual(3);
    expect(runBlocks.flatMap((b) => b.steps.flatMap((step) => step.expects)).length).toBeGreaterThan(0);
  });

  it('has every curl of a block that runs fail on an HTTP error (else a 400 would pass as exit 0)', () => {
    const lax = runBlocks.flatMap((b) =>
      b.body
        .split('\n')
        .filter((l) => /(^|[\s$(])curl\s/.test(l) && !l.includes('--fail-with-body'))
        .map((l) => `line ${b.line}: ${l}`),
    );
    expect(lax).toEqual([]);
  });

  it('gives the Collector a stable instance uid, an explicit OTLP endpoint and only core components', () => {
    const collector = yamlFile('collector.yaml');
    expect(String(at(collector, 'extensions.opamp.instance_uid'))).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(at(collector, 'receivers.otlp.protocols.grpc.endpoint')).toEqual(expect.any(String));
    expect(Object.keys(at(collector, 'exporters') as Yaml)).toEqual(['debug']);
    expect(at(collector, 'service.extensions')).toEqual(['opamp']);
  });

  it('has the supervisor report its components and keep its state where a user can write', () => {
    const supervisor = yamlFile('supervisor.yaml');
    expect(at(supervisor, 'capabilities.reports_available_components')).toBe(true);
    expect(at(supervisor, 'capabilities.accepts_remote_config')).toBe(true);
    const storage = String(at(supervisor, 'storage.directory'));
    expect(storage).not.toMatch(/^\/(var|etc|usr|opt|srv|run)\b/);
    expect(storage).not.toBe('undefined');
  });

  it('has a lockfile that npm ci accepts and npm install keeps (what npm start, npm test and the Dockerfile install)', () => {
    const check = spawnSync('bash', ['scripts/check-lockfile.sh'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  });
});

describe('README.md shell blocks, in order, against the embedded server', () => {
  const config = loadE2eConfig();
  const basePort = randomPortBase();
  const work = mkdtempSync(join(tmpdir(), 'opamp-readme-'));
  const dataDir = join(work, 'opamp-data');
  const placeholders: Array<[string, string]> = [
    ...DEFAULT_PORTS.map((port, i): [string, string] => [`127.0.0.1:${port}`, `127.0.0.1:${basePort + i}`]),
    ['./.opamp-data', dataDir],
  ];
  // The reader's shell: no API or ADMIN of the caller's (the blocks must set what they use).
  const { API: _api, ADMIN: _admin, ...env } = config.inheritedEnv;
  const shell = new ReadmeShell(work, env, BLOCK_MS);
  let server: EmbeddedServerProcess;
  let collector: SimulatedAgent | undefined;
  /** The collector.yaml of every configuration the stand-in applied, in order. */
  const applied: string[] = [];
  const get = async (path: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`${server.api}${path}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir, basePort, startTimeoutMs: 90_000 });
    const attributes = at(yamlFile('supervisor.yaml'), 'agent.description.non_identifying_attributes') as Record<string, string>;
    collector = new SimulatedAgent({
      endpoint: server.ws,
      headers: { Authorization: `Bearer ${server.agentToken}` },
      capabilities: DEFAULT_AGENT_CAPABILITIES | AgentCapabilities.ReportsAvailableComponents,
      heartbeatIntervalMs: 5_000,
      description: { identifying: { 'service.name': 'otelcol-contrib' }, nonIdentifying: attributes },
      availableComponents: {
        components: {
          receivers: { subComponentMap: { otlp: {} } },
          processors: { subComponentMap: { batch: {} } },
          exporters: { subComponentMap: { debug: {}, otlp: {} } },
          extensions: { subComponentMap: { opamp: {} } },
        },
      },
      applyConfig: (config) => {
        applied.push(Buffer.from(config.configMap?.['collector.yaml']?.body ?? new Uint8Array()).toString('utf8'));
      },
    });
    collector.on('error', () => undefined);
    collector.start();
    // Known to the server before the examples run, as a Collector started first would be.
    await waitFor(() => get('/agents'), (r) => (r['agents'] as unknown[]).length === 1, { timeoutMs: 30_000, description: 'the stand-in listed' });
  }, 150_000);

  afterAll(async () => {
    await collector?.stop();
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(work, { recursive: true, force: true });
  });

  for (const block of runBlocks) {
    it(
      `runs ${title(block)}`,
      async () => {
        for (const step of block.steps) {
          const script = substitutePlaceholders(step.script, placeholders);
          // Nothing may reach a server on the default ports (someone's `npm start`).
          expect(script).not.toMatch(new RegExp(`:(${DEFAULT_PORTS.join('|')})\\b`));
          const result = await shell.run(script);
          // A failing step's output (curl --fail-with-body prints the error body) goes into the failure.
          expect({ script, code: result.code, stderr: result.stderr, output: result.code === 0 ? '' : result.stdout }).toEqual({ script, code: 0, stderr: '', output: '' });
          for (const text of step.expects) expect({ script, output: result.stdout }).toEqual({ script, output: expect.stringContaining(text) });
        }
      },
      BLOCK_MS + 5_000,
    );
  }

  it('stored the first configuration as printed: core components only, the OTLP endpoint explicit', async () => {
    const body = (await get('/configurations/collector/versions/1')) as { files: Record<string, { body: string }> };
    const first = parseYaml(body.files['collector.yaml'].body) as Yaml;
    expect(Object.keys(at(first, 'exporters') as Yaml)).toEqual(['debug']);
    expect(Object.keys(at(first, 'receivers') as Yaml)).toEqual(['otlp']);
    expect(at(first, 'receivers.otlp.protocols.grpc.endpoint')).toEqual(expect.any(String));
  });

  it('got both versions to the Collector stand-in, rendered with its region, and the rollout moved it', async () => {
    const agent = await waitFor(
      async () => ((await get('/agents')) as { agents: Array<Record<string, unknown>> }).agents[0],
      (a) => a?.['configurationVersion'] === 2 && a?.['remoteConfigStatus'] === 'REMOTE_CONFIG_STATUS_APPLIED',
      { timeoutMs: 30_000, description: 'version 2 applied' },
    );
    expect(agent).toMatchObject({ configurationName: 'collector', inSync: true, notSentReason: '' });
    expect(collector?.remoteConfigStatus.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_APPLIED);
    const region = String(at(yamlFile('supervisor.yaml'), 'agent.description.non_identifying_attributes.region'));
    const versions = applied.map((text) => parseYaml(text) as Yaml);
    expect(versions.map((v) => [at(v, 'exporters.debug.verbosity'), at(v, 'service.telemetry.resource.region')])).toEqual([
      ['basic', region],
      ['normal', region],
    ]);
  });
});
