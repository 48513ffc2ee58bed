import { AgentCapabilities } from '@opamp/protocol';
import { connectionOffer } from './agent-credential';
import { composeConnectionOffer, connectionProfileSpecMessage, ownTelemetryOrigin, parseConnectionProfileSpec } from './connection-profile';
import { MAX_TELEMETRY_HEADER_CHARS } from './limits';

const OPAMP = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOpAMPConnectionSettings;
const METRICS = OPAMP | AgentCapabilities.ReportsOwnMetrics;
const ALL_SIGNALS = METRICS | AgentCapabilities.ReportsOwnTraces | AgentCapabilities.ReportsOwnLogs;
const input = { publicEndpoint: 'wss://fleet.example.com:4320/v1/opamp', transport: 'ws' as const, secret: 's1', heartbeatIntervalSeconds: 30 };
const toServer = { ...input, ownTelemetryEndpoint: ownTelemetryOrigin(input.publicEndpoint) };
const external = {
  ownTelemetry: {
    metrics: { destinationEndpoint: 'https://otlp.example.com/v1/metrics', headers: [{ key: 'X-Api-Key', value: 'k1' }], tls: { minVersion: '1.2' } },
  },
};
const hex = (b: Uint8Array | null | undefined) => Buffer.from(b as Uint8Array).toString('hex');

describe('own-telemetry destinations in the connection offer (pure)', () => {
  it('sends a signal the profile names no destination for to this server, with the agent credential, on the standard path', () => {
    const offer = composeConnectionOffer(toServer, null, ALL_SIGNALS)!;
    expect(offer.ownMetrics).toEqual({ destinationEndpoint: 'https://fleet.example.com:4320/v1/metrics', headers: { headers: [{ key: 'Authorization', value: 'Bearer s1' }] } });
    expect(offer.ownTraces!.destinationEndpoint).toBe('https://fleet.example.com:4320/v1/traces');
    expect(offer.ownLogs!.destinationEndpoint).toBe('https://fleet.example.com:4320/v1/logs');
  });

  it("offers a profile's external destination with its own headers and TLS, never the agent's credential", () => {
    const offer = composeConnectionOffer(toServer, parseConnectionProfileSpec(external), METRICS)!;
    expect(offer.ownMetrics!.destinationEndpoint).toBe('https://otlp.example.com/v1/metrics');
    expect(offer.ownMetrics!.headers!.headers).toEqual([{ key: 'X-Api-Key', value: 'k1' }]);
    expect(offer.ownMetrics!.tls).toMatchObject({ minVersion: '1.2' });
    expect(JSON.stringify(offer.ownMetrics)).not.toContain('s1');
  });

  it('gates each signal by its capability (C45): none without 0x40 / 0x20 / 0x80', () => {
    expect(composeConnectionOffer(toServer, null, OPAMP)!.ownMetrics).toBeUndefined();
    const metricsOnly = composeConnectionOffer(toServer, null, METRICS)!;
    expect(metricsOnly.ownMetrics).toBeDefined();
    expect(metricsOnly.ownTraces).toBeUndefined();
    expect(metricsOnly.ownLogs).toBeUndefined();
    const tracesOnly = composeConnectionOffer(toServer, null, OPAMP | AgentCapabilities.ReportsOwnTraces)!;
    expect(tracesOnly.ownTraces).toBeDefined();
    expect(tracesOnly.ownMetrics).toBeUndefined();
  });

  it('offers none when the tenant did not enable this server and the profile names none', () => {
    const offer = composeConnectionOffer(input, null, ALL_SIGNALS)!;
    expect(offer.ownMetrics).toBeUndefined();
    expect(offer.ownTraces).toBeUndefined();
    expect(offer.ownLogs).toBeUndefined();
  });

  it('keeps the hash while the destination is unchanged and changes it with the destination, a header, the credential or the tenant setting (C60, C61)', () => {
    const spec = parseConnectionProfileSpec(external);
    const h = (i: typeof input, s: typeof spec | null, caps = METRICS) => hex(connectionOffer(i, s, caps)!.hash as Uint8Array);
    expect(h(toServer, spec)).toBe(h(toServer, parseConnectionProfileSpec(external)));
    const otherHeader = parseConnectionProfileSpec({ ownTelemetry: { metrics: { ...external.ownTelemetry.metrics, headers: [{ key: 'X-Api-Key', value: 'k2' }] } } });
    expect(h(toServer, otherHeader)).not.toBe(h(toServer, spec));
    expect(h(toServer, null)).not.toBe(h(input, null));
    expect(h({ ...toServer, secret: 's2' }, null)).not.toBe(h(toServer, null));
    // An agent without the capability is not offered it, so its hash does not move with it.
    expect(h(toServer, null, OPAMP)).toBe(h(input, null, OPAMP));
  });

  it('shows a stored spec in the shape it was given, and reads it back to the same', () => {
    const spec = parseConnectionProfileSpec(external);
    expect(parseConnectionProfileSpec(connectionProfileSpecMessage(spec))).toEqual(spec);
    expect(connectionProfileSpecMessage(spec)['ownTelemetry']).toMatchObject({ metrics: { destinationEndpoint: 'https://otlp.example.com/v1/metrics' } });
  });

  it('refuses bad destinations with the field named', () => {
    const bad = (ownTelemetry: unknown) => () => parseConnectionProfileSpec({ ownTelemetry });
    expect(bad({ metrics: { destinationEndpoint: 'grpc://otlp.example.com' } })).toThrow(/own_telemetry\.metrics\.destination_endpoint must use http, https/);
    expect(bad({ metrics: { destinationEndpoint: 'not a url' } })).toThrow(/own_telemetry\.metrics\.destination_endpoint must be an absolute URL/);
    expect(bad({ traces: {} })).toThrow(/own_telemetry\.traces\.destination_endpoint is required/);
    expect(bad({ profiles: { destinationEndpoint: 'https://x.example.com' } })).toThrow(/own_telemetry takes metrics, traces, logs/);
    expect(bad({ logs: { destinationEndpoint: 'https://x.example.com', headers: [{ key: 'X-A', value: 'a\r\nX-B: b' }] } })).toThrow(/control characters/);
    const big = Array.from({ length: 5 }, (_, i) => ({ key: `X-H${i}`, value: 'v'.repeat(4000) }));
    expect(bad({ logs: { destinationEndpoint: 'https://x.example.com', headers: big } })).toThrow(new RegExp(`limited to ${MAX_TELEMETRY_HEADER_CHARS} characters`));
  });
});
