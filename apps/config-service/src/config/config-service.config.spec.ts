import { EnvConfigError } from '@opamp/config';
import { loadConfigServiceConfig } from './config-service.config';

describe('config-service configuration', () => {
  it('defaults to the local infrastructure of infra:up', () => {
    const cfg = loadConfigServiceConfig({});
    expect(cfg.kafkaBrokers).toEqual(['127.0.0.1:19092']);
    expect(cfg.databaseUrl).toBe('postgres://opamp:opamp@127.0.0.1:54320/opamp');
    expect(cfg.redisUrl).toBe('redis://127.0.0.1:63790');
  });

  it('takes overrides and refuses bad values with the variable named', () => {
    expect(loadConfigServiceConfig({ OPAMP_KAFKA_BROKERS: 'k1:9092,k2:9092' }).kafkaBrokers).toEqual(['k1:9092', 'k2:9092']);
    expect(() => loadConfigServiceConfig({ OPAMP_DATABASE_URL: 'mysql://x' })).toThrow(EnvConfigError);
    expect(() => loadConfigServiceConfig({ OPAMP_PG_POOL_MAX: '0' })).toThrow(/OPAMP_PG_POOL_MAX must be >= 1/);
  });
});

describe('config-service API and reconciler settings', () => {
  it('has ports, topic and group defaults and parses bootstrap tokens', () => {
    const cfg = loadConfigServiceConfig({});
    expect(cfg.httpPort).toBe(4380);
    expect(cfg.grpcPort).toBe(4381);
    expect(cfg.eventsTopic).toBe('opamp.agent-events');
    expect(cfg.consumerGroup).toBe('opamp.config-service');
    expect(cfg.bootstrapAdminTokens).toEqual([]);
    expect(loadConfigServiceConfig({ OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS: 'acme=0123456789abcdef, b=fedcba9876543210' }).bootstrapAdminTokens).toEqual([
      { tenantId: 'acme', token: '0123456789abcdef' },
      { tenantId: 'b', token: 'fedcba9876543210' },
    ]);
    expect(() => loadConfigServiceConfig({ OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS: 'short=x' })).toThrow(/at least 16 characters/);
  });
});

describe('config-service rollout driver settings', () => {
  it('defaults to a 1 s tick and a 15 s lease and bounds them', () => {
    const cfg = loadConfigServiceConfig({});
    expect([cfg.rolloutTickMs, cfg.rolloutLeaseMs, cfg.rolloutDriverId]).toEqual([1000, 15000, '']);
    expect(loadConfigServiceConfig({ OPAMP_CONFIG_ROLLOUT_TICK_MS: '100', OPAMP_CONFIG_ROLLOUT_LEASE_MS: '800' })).toMatchObject({ rolloutTickMs: 100, rolloutLeaseMs: 800 });
    expect(() => loadConfigServiceConfig({ OPAMP_CONFIG_ROLLOUT_LEASE_MS: '10' })).toThrow(/OPAMP_CONFIG_ROLLOUT_LEASE_MS/);
  });
});
