import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagsToEnv, loadSwarmConfig, usage } from './swarm.config';

describe('swarm configuration', () => {
  it('has defaults for everything', () => {
    const c = loadSwarmConfig([], {});
    if (c.help) throw new Error('no help expected');
    expect(c.swarm).toMatchObject({
      agents: 1000,
      endpoints: ['ws://127.0.0.1:4320/v1/opamp'],
      wsFraction: 1,
      rampPerSecond: 500,
      durationMs: 300_000,
      seed: 1,
    });
    expect(c.swarm.workers).toBeUndefined();
    expect(c.swarm.agent).toMatchObject({ heartbeatIntervalMs: 30_000, headers: {}, followConnectionSettings: false, acceptPackages: false, packageDownloadBusyWaits: 0 });
    expect(c.converge).toBeUndefined();
    expect(c.progress).toBe(true);
  });

  it('reads variables and lets flags win', () => {
    const c = loadSwarmConfig(
      ['--agents', '5000', '--ws-percent=80', '--addresses', '127.0.0.2-127.0.0.4', '--no-progress', '--token', 't0k', '--environments', 'prod:3,dev:1', '--follow-connection-settings', '--accept-packages', '--package-busy-waits=20'],
      { SWARM_AGENTS: '10', SWARM_HEARTBEAT_S: '5', SWARM_SEED: 'fleet-a' },
    );
    if (c.help) throw new Error('no help expected');
    expect(c.swarm.agents).toBe(5000);
    expect(c.swarm.wsFraction).toBeCloseTo(0.8);
    expect(c.swarm.addresses).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    expect(c.swarm.agent?.heartbeatIntervalMs).toBe(5000);
    expect(c.swarm.agent?.headers).toEqual({ Authorization: 'Bearer t0k' });
    expect(c.swarm.agent?.followConnectionSettings).toBe(true);
    expect([c.swarm.agent?.acceptPackages, c.swarm.agent?.packageDownloadBusyWaits]).toEqual([true, 20]);
    expect(c.swarm.description?.environments).toEqual([
      { value: 'prod', weight: 3 },
      { value: 'dev', weight: 1 },
    ]);
    expect(c.swarm.seed).not.toBe(1);
    expect(c.progress).toBe(false);
  });

  it('takes the convergence options', () => {
    const c = loadSwarmConfig(['--converge-hash', 'ABCDEF', '--converge-selector', 'cloud.region=eu-west-1', '--converge-t0', '1700000000000', '--stop-when-converged'], {});
    if (c.help) throw new Error('no help expected');
    expect(c.converge).toEqual({ hash: 'abcdef', selector: 'cloud.region=eu-west-1', t0: { kind: 'at', epochMs: 1_700_000_000_000 } });
    expect(c.stopWhenConverged).toBe(true);
    const d = loadSwarmConfig(['--converge-hash', 'ab'], {});
    expect(!d.help && d.converge?.t0).toEqual({ kind: 'connected' });
  });

  it('lists every problem at once and never echoes the token', () => {
    expect(() => loadSwarmConfig(['--agents', '0', '--ws-percent', '120', '--token', 'sekret-value'], {})).toThrow(/SWARM_AGENTS.*\n.*SWARM_WS_PERCENT/s);
    expect(() => loadSwarmConfig(['--converge-hash', 'xyz', '--converge-selector', 'novalue', '--stop-when-converged'], {})).toThrow(
      /key=value[\s\S]*must be hex/,
    );
    expect(() => loadSwarmConfig(['--stop-when-converged'], {})).toThrow('needs SWARM_CONVERGE_HASH');
    const bad = (): unknown => loadSwarmConfig(['--token', 'sekret-value', '--agents', 'x'], {});
    expect(bad).toThrow(/SWARM_AGENTS/);
    expect(bad).not.toThrow(/sekret-value/);
  });

  it('client-certificate mode: with follow-connection-settings and the server CA read from its file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-config-'));
    try {
      const caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n');
      const c = loadSwarmConfig(['--follow-connection-settings', '--client-certificate', '--server-ca-file', caFile], {});
      if (c.help) throw new Error('no help expected');
      expect(c.swarm.agent).toMatchObject({ requestClientCertificate: true, serverCaPem: expect.stringContaining('BEGIN CERTIFICATE') });
      expect(() => loadSwarmConfig(['--client-certificate'], {})).toThrow('SWARM_CLIENT_CERTIFICATE needs SWARM_FOLLOW_CONNECTION_SETTINGS');
      expect(() => loadSwarmConfig(['--server-ca-file', join(dir, 'missing.pem')], {})).toThrow('SWARM_SERVER_CA_FILE cannot be read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects unknown flags and missing values, and has help', () => {
    expect(() => flagsToEnv(['--nope'])).toThrow('unknown flag --nope');
    expect(() => flagsToEnv(['--agents'])).toThrow('needs a value');
    expect(() => flagsToEnv(['stray'])).toThrow('unexpected argument');
    expect(flagsToEnv(['-h']).help).toBe(true);
    expect(loadSwarmConfig(['--help'], {})).toEqual({ help: true });
    expect(usage()).toContain('--converge-selector');
  });
});

describe('swarm own metrics flags', () => {
  it('sends none by default; --own-metrics with an interval and a naming', () => {
    const off = loadSwarmConfig([], {});
    if (off.help) throw new Error('no help expected');
    expect(off.swarm.agent?.ownMetrics).toBeUndefined();
    const on = loadSwarmConfig(['--own-metrics', '--own-metrics-interval', '2000', '--own-metrics-naming', 'older'], {});
    if (on.help) throw new Error('no help expected');
    expect(on.swarm.agent?.ownMetrics).toEqual({ intervalMs: 2000, naming: 'older' });
    expect(() => loadSwarmConfig(['--own-metrics', '--own-metrics-naming', 'latest'], {})).toThrow(/SWARM_OWN_METRICS_NAMING/);
  });
});
