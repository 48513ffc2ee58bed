import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EDGE_DEFAULTS } from '@opamp/edge';
import { loadCredentials } from '../embedded-server';
import { loadFleetServerConfig } from './fleet-server.config';

describe('embedded server configuration', () => {
  it('defaults to the OpAMP port, a local data directory and tenant "default"', () => {
    const cfg = loadFleetServerConfig({});
    expect([cfg.gatewayPort, cfg.httpPort, cfg.grpcPort]).toEqual([4320, 4380, 4381]);
    expect(cfg.dataDir).toBe('.opamp-data');
    expect(cfg.tenantId).toBe('default');
    // Only used as root: PostgreSQL refuses to run as root.
    expect(cfg.embeddedPgUser).toBe('nobody');
    expect(loadFleetServerConfig({ OPAMP_EMBEDDED_PG_USER: 'postgres' }).embeddedPgUser).toBe('postgres');
  });

  it('can sit behind a mutual-TLS terminator, with the gateway\'s settings', () => {
    expect(loadFleetServerConfig({}).clientIdentity).toBeNull();
    expect(loadFleetServerConfig({ OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256', OPAMP_TRUSTED_PROXIES: '127.0.0.0/8' }).clientIdentity).toEqual({
      header: '',
      fingerprintHeader: 'X-Client-Cert-SHA256',
      certificateHeader: '',
      trustedProxies: ['127.0.0.0/8'],
      required: false,
    });
    expect(() => loadFleetServerConfig({ OPAMP_CLIENT_CERT_HEADER: 'ssl-client-cert', OPAMP_TRUSTED_PROXIES: '10.0.0.0/99' })).toThrow(/CIDR/);
  });

  it("uses the edge's default limits, with the upgrade rate set by the gateway's variable", () => {
    const cfg = loadFleetServerConfig({});
    expect([cfg.maxMessageBytes, cfg.maxConnections, cfg.upgradesPerSecond, cfg.httpPushWaitMs]).toEqual([
      EDGE_DEFAULTS.maxMessageBytes,
      EDGE_DEFAULTS.maxConnections,
      EDGE_DEFAULTS.upgradesPerSecond,
      EDGE_DEFAULTS.httpPushWaitMs,
    ]);
    expect([cfg.maxMessageBytes, cfg.maxConnections, cfg.upgradesPerSecond, cfg.httpPushWaitMs]).toEqual([64 * 1024 * 1024, 19_000, 1_000, 250]);
    expect(loadFleetServerConfig({ OPAMP_UPGRADES_PER_SECOND: '250' }).upgradesPerSecond).toBe(250);
    expect(() => loadFleetServerConfig({ OPAMP_UPGRADES_PER_SECOND: '0' })).toThrow(/OPAMP_UPGRADES_PER_SECOND/);
  });

  it('refuses inconsistent liveness thresholds and half a TLS setup', () => {
    expect(() => loadFleetServerConfig({ OPAMP_STALE_AFTER_INTERVALS: '5', OPAMP_OFFLINE_AFTER_INTERVALS: '2' })).toThrow(/OFFLINE_AFTER/);
    expect(() => loadFleetServerConfig({ OPAMP_TLS_KEY_FILE: '/k' })).toThrow(/go together/);
  });
});

describe("agents' own metrics", () => {
  it('keeps points 24 h and rollups 30 days by default, as status-ingest', () => {
    expect(loadFleetServerConfig({}).ownMetrics).toEqual({ retention: { pointsMs: 24 * 3_600_000, rollupsMs: 30 * 86_400_000 }, maxSeriesPerAgent: 200, partitionSweepMs: 3_600_000, forwardUrl: '' });
    expect(loadFleetServerConfig({ OPAMP_OWN_METRICS_ROLLUPS_RETENTION_DAYS: '7' }).ownMetrics.retention.rollupsMs).toBe(7 * 86_400_000);
    expect(() => loadFleetServerConfig({ OPAMP_OWN_METRICS_POINTS_RETENTION_HOURS: '1' })).toThrow(/OPAMP_OWN_METRICS_POINTS_RETENTION_HOURS/);
  });
});

describe('credentials', () => {
  it('generates tokens on first start, keeps them private, and reuses them', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'creds-'));
    const cfg = { ...loadFleetServerConfig({}), dataDir };
    const first = loadCredentials(cfg);
    expect(first.generated).toBe(true);
    expect(first.adminToken).toMatch(/^opamp_admin_[\w-]{32}$/);
    expect(statSync(join(dataDir, 'credentials.json')).mode & 0o777).toBe(0o600);
    const second = loadCredentials(cfg);
    expect(second).toEqual({ ...first, generated: false });
  });

  it('uses configured tokens and never writes them to disk', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'creds-'));
    const cfg = { ...loadFleetServerConfig({ OPAMP_ADMIN_TOKEN: 'admin-from-env', OPAMP_AGENT_TOKEN: 'agent-from-env' }), dataDir };
    const creds = loadCredentials(cfg);
    expect([creds.adminToken, creds.agentToken]).toEqual(['admin-from-env', 'agent-from-env']);
    expect(() => readFileSync(join(dataDir, 'credentials.json'))).toThrow();
  });
});
