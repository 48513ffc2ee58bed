import { EDGE_DEFAULTS } from '@opamp/edge';
import { loadGatewayConfig } from './gateway.config';

describe('gateway configuration', () => {
  it('listens on the OpAMP default port with the spec size limit by default', () => {
    const cfg = loadGatewayConfig({});
    expect(cfg.port).toBe(4320);
    expect(cfg.maxMessageBytes).toBe(64 * 1024 * 1024);
    expect(cfg.tls).toBeNull();
    expect(cfg.gatewayId).toMatch(/-\d+$/);
  });

  it("defaults the edge's limits to the edge lib's", () => {
    const cfg = loadGatewayConfig({});
    expect(cfg).toMatchObject({
      maxMessageBytes: EDGE_DEFAULTS.maxMessageBytes,
      wsCompression: EDGE_DEFAULTS.wsCompression,
      messagesPerSecond: EDGE_DEFAULTS.messagesPerSecond,
      messageBurst: EDGE_DEFAULTS.messageBurst,
      maxConnections: EDGE_DEFAULTS.maxConnections,
      upgradesPerSecond: EDGE_DEFAULTS.upgradesPerSecond,
      upgradeBurst: EDGE_DEFAULTS.upgradeBurst,
      retryAfterRangeS: [EDGE_DEFAULTS.retryAfterMinS, EDGE_DEFAULTS.retryAfterMaxS],
      drainRetryAfterRangeS: [EDGE_DEFAULTS.drainRetryAfterMinS, EDGE_DEFAULTS.drainRetryAfterMaxS],
      httpPushWaitMs: EDGE_DEFAULTS.httpPushWaitMs,
      maxPendingInbound: EDGE_DEFAULTS.maxPendingInbound,
      maxPendingInboundBytes: EDGE_DEFAULTS.maxPendingInboundBytes,
    });
  });

  it('refuses half a TLS configuration, and a required identity without its header', () => {
    expect(() => loadGatewayConfig({ OPAMP_TLS_CERT_FILE: '/c.pem' })).toThrow(/go together/);
    expect(loadGatewayConfig({ OPAMP_TLS_CERT_FILE: '/c', OPAMP_TLS_KEY_FILE: '/k' }).tls).toEqual({ certFile: '/c', keyFile: '/k' });
    expect(() => loadGatewayConfig({ OPAMP_REQUIRE_CLIENT_IDENTITY: 'true' })).toThrow(/OPAMP_CLIENT_IDENTITY_HEADER/);
    expect(
      loadGatewayConfig({ OPAMP_CLIENT_IDENTITY_HEADER: 'X-Client-Cert-Subject', OPAMP_TRUSTED_PROXIES: '10.0.0.5' }).clientIdentity,
    ).toEqual({ header: 'X-Client-Cert-Subject', fingerprintHeader: '', certificateHeader: '', trustedProxies: ['10.0.0.5'], required: false });
  });

  it('reads the client certificate headers of a mutual-TLS terminator, believed from addresses and CIDR ranges', () => {
    expect(loadGatewayConfig({}).clientIdentity).toBeNull();
    expect(
      loadGatewayConfig({
        OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256',
        OPAMP_TRUSTED_PROXIES: '10.42.0.0/16, fd00::/8',
        OPAMP_REQUIRE_CLIENT_IDENTITY: 'true',
      }).clientIdentity,
    ).toEqual({ header: '', fingerprintHeader: 'X-Client-Cert-SHA256', certificateHeader: '', trustedProxies: ['10.42.0.0/16', 'fd00::/8'], required: true });
    expect(loadGatewayConfig({ OPAMP_CLIENT_CERT_HEADER: 'ssl-client-cert' }).clientIdentity?.certificateHeader).toBe('ssl-client-cert');
    expect(() => loadGatewayConfig({ OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'a', OPAMP_CLIENT_CERT_HEADER: 'b' })).toThrow(/not both/);
    expect(() => loadGatewayConfig({ OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'x: y' })).toThrow(/header name/);
    expect(() => loadGatewayConfig({ OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'x', OPAMP_TRUSTED_PROXIES: 'lb.internal' })).toThrow(/CIDR/);
  });

  it('refuses an inverted Retry-After range', () => {
    expect(() => loadGatewayConfig({ OPAMP_RETRY_AFTER_MIN_S: '60', OPAMP_RETRY_AFTER_MAX_S: '10' })).toThrow(/RETRY_AFTER/);
    expect(() => loadGatewayConfig({ OPAMP_DRAIN_RETRY_AFTER_MIN_S: '6', OPAMP_DRAIN_RETRY_AFTER_MAX_S: '2' })).toThrow(/DRAIN_RETRY_AFTER/);
  });
});
