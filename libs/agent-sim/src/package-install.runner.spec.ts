import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentCapabilities as C, opamp } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { resolveAgentProfile } from './agent-options';
import type { PackageInstallEvent } from './agent-events';
import { PackageInstallRunner, type PackageInstallHost } from './package-install.runner';
import { StatusPart } from './status-builder';

const S = opamp.proto.v1.PackageStatusEnum;

describe('PackageInstallRunner', () => {
  const bytes = randomBytes(256 * 1024);
  let server: Server;
  let requests = 0;
  /** The first answer stops half-way until released. */
  let release: (() => void) | undefined;

  beforeAll(async () => {
    server = createServer((_req, res: ServerResponse) => {
      requests++;
      res.writeHead(200, { 'content-length': String(bytes.length), etag: '"e"' });
      if (requests > 1) return void res.end(bytes);
      res.write(bytes.subarray(0, bytes.length / 2));
      release = () => res.end(bytes.subarray(bytes.length / 2));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('goes on with an offer it is downloading when the same offer comes again, installs once, and describes itself with the new version', async () => {
    const events: PackageInstallEvent[] = [];
    let dirty = 0;
    const host: PackageInstallHost = { running: true, instanceUid: Buffer.alloc(16, 1), markDirty: (p) => void (dirty |= p), emit: (_e, ev) => events.push(ev) > 0 };
    const profile = resolveAgentProfile({ endpoint: 'ws://127.0.0.1:1/v1/opamp', capabilities: C.ReportsStatus | C.AcceptsPackages | C.ReportsPackageStatuses });
    const base = { identifying: { 'service.name': 'otelcol', 'service.version': '1.0.0' } };
    const runner = new PackageInstallRunner(profile, host, base);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
    const offer = {
      allPackagesHash: Buffer.alloc(32, 1),
      packages: { otelcol: { version: '2.0.0', hash: Buffer.alloc(32, 2), file: { downloadUrl: url, contentHash: createHash('sha256').update(bytes).digest() } } },
    };
    runner.offer(offer);
    await waitFor(() => release, (r) => r !== undefined, { description: 'the download under way' });
    expect(runner.statuses?.packages?.['otelcol']?.status).toBe(S.PackageStatusEnum_Downloading);
    runner.offer(offer);
    release!();
    await waitFor(() => events.filter((e) => e.status !== 'downloading'), (e) => e.length > 0, { description: 'installed' });
    expect(events.filter((e) => e.status !== 'downloading')).toEqual([{ name: 'otelcol', version: '2.0.0', status: 'installed', bytes: bytes.length, resumes: 0, busyWaits: 0 }]);
    expect(requests).toBe(1);
    expect(runner.statuses?.packages?.['otelcol']).toMatchObject({ status: S.PackageStatusEnum_Installed, agentHasVersion: '2.0.0' });
    expect(dirty & (StatusPart.PackageStatuses | StatusPart.Description)).toBe(StatusPart.PackageStatuses | StatusPart.Description);
    expect(runner.description(base)?.identifying).toEqual({ 'service.name': 'otelcol', 'service.version': '2.0.0' });
  });

  it('downloads from the host its instance uid picks among endpointAliases, as it connects to an aliased endpoint', async () => {
    const events: PackageInstallEvent[] = [];
    const port = (server.address() as AddressInfo).port;
    const host: PackageInstallHost = { running: true, instanceUid: Buffer.from([...Buffer.alloc(12), 0, 0, 0, 1]), markDirty: () => undefined, emit: (_e, ev) => events.push(ev) > 0 };
    // uid ...01 picks the second target: the first is a port nothing listens on.
    const profile = resolveAgentProfile({
      endpoint: 'ws://127.0.0.1:1/v1/opamp',
      capabilities: C.ReportsStatus | C.AcceptsPackages | C.ReportsPackageStatuses,
      endpointAliases: { 'pkg.bench.invalid:8080': ['127.0.0.1:1', `127.0.0.1:${port}`] },
    });
    const runner = new PackageInstallRunner(profile, host, { identifying: { 'service.name': 'otelcol' } });
    const before = requests;
    runner.offer({
      allPackagesHash: Buffer.alloc(32, 3),
      packages: { otelcol: { version: '3.0.0', hash: Buffer.alloc(32, 4), file: { downloadUrl: 'http://pkg.bench.invalid:8080/f?sig=x', contentHash: createHash('sha256').update(bytes).digest() } } },
    });
    await waitFor(() => events.filter((e) => e.status !== 'downloading'), (e) => e.length > 0, { description: 'installed or failed' });
    expect(events.filter((e) => e.status !== 'downloading')).toEqual([{ name: 'otelcol', version: '3.0.0', status: 'installed', bytes: bytes.length, resumes: 0, busyWaits: 0 }]);
    expect(requests).toBe(before + 1);
  });
});
