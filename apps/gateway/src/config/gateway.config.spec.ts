import { loadGatewayConfig } from './gateway.config';

describe('gateway configuration', () => {
  it('listens on the OpAMP default port with the spec size limit by default', () => {
    const cfg = loadGatewayConfig({});
    expect(cfg.port).toBe(4320);
    expect(cfg.maxMessageBytes).toBe(64 * 1024 * 1024);
    expect(cfg.tls).toBeNull();
    expect(cfg.gatewayId).toMatch(/-\d+$/);
  });

  it('refuses half a TLS configuration and mTLS without TLS', () => {
    expect(() => loadGatewayConfig({ OPAMP_TLS_CERT_FILE: '/c.pem' })).toThrow(/go together/);
    expect(() => loadGatewayConfig({ OPAMP_TLS_CA_FILE: '/ca.pem' })).toThrow(/mTLS/);
    expect(loadGatewayConfig({ OPAMP_TLS_CERT_FILE: '/c', OPAMP_TLS_KEY_FILE: '/k', OPAMP_TLS_CA_FILE: '/ca' }).tls).toEqual({
      certFile: '/c',
      keyFile: '/k',
      caFile: '/ca',
    });
  });

  it('refuses an inverted Retry-After range', () => {
    expect(() => loadGatewayConfig({ OPAMP_RETRY_AFTER_MIN_S: '60', OPAMP_RETRY_AFTER_MAX_S: '10' })).toThrow(/RETRY_AFTER/);
  });
});
