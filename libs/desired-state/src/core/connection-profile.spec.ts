import { AgentCapabilities } from '@opamp/protocol';
import { connectionOffer } from './agent-credential';
import { orderAssignments, resolveAssignment } from './assignment';
import { composeConnectionOffer, connectionProfileSpecMessage, parseConnectionProfileSpec, type ConnectionProfile } from './connection-profile';
import { parseSelector } from './selector';

const OPAMP = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOpAMPConnectionSettings;
const HB = OPAMP | AgentCapabilities.ReportsHeartbeat;
const ALL = HB | AgentCapabilities.AcceptsOtherConnectionSettings;
const input = { publicEndpoint: 'https://opamp.example.com/v1/opamp', transport: 'ws' as const, secret: 's1', heartbeatIntervalSeconds: 30 };
const hashOf = (spec: ReturnType<typeof parseConnectionProfileSpec> | null, caps = ALL) => Buffer.from(connectionOffer(input, spec, caps)!.hash as Uint8Array).toString('hex');

const full = {
  opamp: {
    destinationEndpoint: 'wss://cluster-b.example.com/v1/opamp',
    heartbeatIntervalSeconds: 7,
    headers: [
      { key: 'X-Team', value: 'payments' },
      { key: 'X-Region', value: 'eu' },
    ],
    proxy: { url: 'http://proxy.example.com:3128', connectHeaders: [{ key: 'Proxy-Authorization', value: 'Basic abc' }] },
    tls: { insecureSkipVerify: false, caPemContents: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', minVersion: '1.2', maxVersion: '1.3', cipherSuites: ['TLS_AES_128_GCM_SHA256'] },
  },
  otherConnections: {
    zeta: { destinationEndpoint: 'https://z.example.com/ingest', headers: [{ key: 'X-Key', value: 'k' }], otherSettings: { b: '2', a: '1' } },
    alpha: { destinationEndpoint: 'https://a.example.com/', tls: { insecureSkipVerify: true } },
  },
};

describe('connection profiles (pure)', () => {
  it('composes the offer from the profile: its endpoint (in the transport\'s form), the credential first, its headers, interval, proxy, TLS, other connections', () => {
    const spec = parseConnectionProfileSpec(full);
    const offer = composeConnectionOffer({ ...input, transport: 'http' }, spec, ALL)!;
    expect(offer.opamp!.destinationEndpoint).toBe('https://cluster-b.example.com/v1/opamp');
    expect(offer.opamp!.headers!.headers!.map((h) => h.key)).toEqual(['Authorization', 'X-Region', 'X-Team']);
    expect(offer.opamp!.headers!.headers![0].value).toBe('Bearer s1');
    expect(Number(offer.opamp!.heartbeatIntervalSeconds)).toBe(7);
    expect(offer.opamp!.proxy).toEqual({ url: 'http://proxy.example.com:3128/', connectHeaders: { headers: [{ key: 'Proxy-Authorization', value: 'Basic abc' }] } });
    expect(offer.opamp!.tls).toMatchObject({ minVersion: '1.2', maxVersion: '1.3', cipherSuites: ['TLS_AES_128_GCM_SHA256'], insecureSkipVerify: false });
    expect(Object.keys(offer.otherConnections!)).toEqual(['alpha', 'zeta']);
    expect(offer.otherConnections!['zeta']).toMatchObject({ destinationEndpoint: 'https://z.example.com/ingest', otherSettings: { a: '1', b: '2' } });
    expect(offer.otherConnections!['alpha'].tls).toMatchObject({ insecureSkipVerify: true });
  });

  it('without a profile offers the server\'s endpoint and interval with the credential alone', () => {
    const offer = composeConnectionOffer(input, null, HB)!;
    expect(offer).toEqual({ opamp: { destinationEndpoint: 'wss://opamp.example.com/v1/opamp', headers: { headers: [{ key: 'Authorization', value: 'Bearer s1' }] }, heartbeatIntervalSeconds: 30 } });
  });

  it('gates each part by capability (C45, C62): opamp only with 0x100, the interval only with 0x2000, other connections only with 0x200', () => {
    const spec = parseConnectionProfileSpec(full);
    const noHb = composeConnectionOffer(input, spec, OPAMP)!;
    expect(noHb.opamp!.heartbeatIntervalSeconds).toBeUndefined();
    expect(noHb.otherConnections).toBeUndefined();
    const othersOnly = composeConnectionOffer(input, spec, AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOtherConnectionSettings)!;
    expect(othersOnly.opamp).toBeUndefined();
    expect(Object.keys(othersOnly.otherConnections!)).toEqual(['alpha', 'zeta']);
    expect(composeConnectionOffer(input, spec, AgentCapabilities.ReportsStatus)).toBeNull();
    expect(composeConnectionOffer(input, null, AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOtherConnectionSettings)).toBeNull();
  });

  it('hashes stably: identical profiles alike (whatever the order of maps and headers), one header, the interval or a TLS setting changes it (C60)', () => {
    const reordered = {
      otherConnections: { alpha: full.otherConnections.alpha, zeta: { ...full.otherConnections.zeta, otherSettings: { a: '1', b: '2' } } },
      opamp: { ...full.opamp, headers: [...full.opamp.headers].reverse() },
    };
    const h = hashOf(parseConnectionProfileSpec(full));
    expect(hashOf(parseConnectionProfileSpec(JSON.parse(JSON.stringify(full))))).toBe(h);
    expect(hashOf(parseConnectionProfileSpec(reordered))).toBe(h);
    expect(hashOf(parseConnectionProfileSpec({ ...full, opamp: { ...full.opamp, headers: [...full.opamp.headers, { key: 'X-New', value: '1' }] } }))).not.toBe(h);
    expect(hashOf(parseConnectionProfileSpec({ ...full, opamp: { ...full.opamp, headers: [{ key: 'X-Team', value: 'other' }, full.opamp.headers[1]] } }))).not.toBe(h);
    expect(hashOf(parseConnectionProfileSpec({ ...full, opamp: { ...full.opamp, heartbeatIntervalSeconds: 8 } }))).not.toBe(h);
    expect(hashOf(parseConnectionProfileSpec({ ...full, opamp: { ...full.opamp, tls: { ...full.opamp.tls, insecureSkipVerify: true } } }))).not.toBe(h);
    expect(hashOf(parseConnectionProfileSpec({ ...full, otherConnections: { alpha: full.otherConnections.alpha } }))).not.toBe(h);
    // The parts an agent does not accept are not in its offer, so they do not change its hash.
    expect(hashOf(parseConnectionProfileSpec({ ...full, otherConnections: {} }), HB)).toBe(hashOf(parseConnectionProfileSpec(full), HB));
    expect(hashOf(null)).not.toBe(h);
  });

  it('shows a stored spec in the shape it was given (canonical order), and reads it back to the same', () => {
    const spec = parseConnectionProfileSpec(full);
    const shown = connectionProfileSpecMessage(spec);
    expect(parseConnectionProfileSpec(JSON.parse(JSON.stringify(shown)))).toEqual(spec);
    expect(Object.keys(shown['otherConnections'] as object)).toEqual(['alpha', 'zeta']);
  });

  /** Refused as INVALID_ARGUMENT with a message matching `message`. */
  const expectRefused = (raw: Record<string, unknown>, message: RegExp) =>
    expect(() => parseConnectionProfileSpec(raw)).toThrow(expect.objectContaining({ name: 'DesiredStateError', code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) }));

  it('refuses the Authorization header in any spelling (the credential owns it), but allows it towards other destinations', () => {
    expectRefused({ opamp: { headers: [{ key: 'authorization', value: 'Bearer x' }] } }, /Authorization header carries the agent's own credential/);
    expectRefused({ opamp: { headers: [{ key: 'AUTHORIZATION', value: 'x' }] } }, /connection_profile\.opamp\.headers\[0\]/);
    expect(() => parseConnectionProfileSpec({ otherConnections: { x: { destinationEndpoint: 'https://x/', headers: [{ key: 'Authorization', value: 'Bearer y' }] } } })).not.toThrow();
  });

  it('refuses bad values with the field named: header names and values, URLs, TLS versions, cipher suites, the interval, names, sizes', () => {
    expectRefused({ opamp: { headers: [{ key: 'X Bad', value: '1' }] } }, /opamp\.headers\[0\]\.key must be an HTTP header name/);
    expectRefused({ opamp: { headers: [{ key: 'X-Ok', value: 'a\r\nX-Injected: 1' }] } }, /opamp\.headers\[0\]\.value must not contain control characters/);
    expectRefused({ opamp: { destinationEndpoint: 'not a url' } }, /opamp\.destination_endpoint must be an absolute URL/);
    expectRefused({ opamp: { destinationEndpoint: 'ftp://x/v1/opamp' } }, /must use ws, wss, http, https/);
    expectRefused({ opamp: { destinationEndpoint: 'wss://user:pw@x/v1/opamp' } }, /must not carry credentials/);
    expectRefused({ opamp: { proxy: { url: '' } } }, /opamp\.proxy\.url is required/);
    expectRefused({ opamp: { tls: { minVersion: '1.4' } } }, /opamp\.tls\.min_version must be one of 1\.0, 1\.1, 1\.2, 1\.3/);
    expectRefused({ opamp: { tls: { minVersion: '1.3', maxVersion: '1.2' } } }, /min_version 1\.3 is above max_version 1\.2/);
    expectRefused({ opamp: { tls: { cipherSuites: ['TLS_AES; rm -rf'] } } }, /cipher_suites\[0\] must be a cipher suite name/);
    expectRefused({ opamp: { tls: { caPemContents: 'hello' } } }, /ca_pem_contents must be PEM certificates/);
    expectRefused({ opamp: { heartbeatIntervalSeconds: 86_401 } }, /heartbeat_interval_seconds must be an integer between 0 .* and 86400/);
    expectRefused({ opamp: { heartbeatIntervalSeconds: -1 } }, /heartbeat_interval_seconds/);
    expectRefused({ opamp: { headers: Array.from({ length: 33 }, (_, i) => ({ key: `X-${i}`, value: '1' })) } }, /at most 32 headers/);
    expectRefused({ otherConnections: { 'bad name!': { destinationEndpoint: 'https://x/' } } }, /other_connections name "bad name!"/);
    expectRefused({ otherConnections: { x: {} } }, /other_connections\.x\.destination_endpoint is required/);
    expectRefused({ otherConnections: { x: { destinationEndpoint: 'https://x/', otherSettings: { k: 5 } } } }, /other_settings\.k must be a string/);
    expectRefused({ opamp: 'x' }, /connection_profile\.opamp must be an object/);
  });

  it('resolves like assignments: the highest priority matching profile, the first name among equals', () => {
    const p = (name: string, selector: string, priority: number): ConnectionProfile => ({ name, selector: parseSelector(selector), selectorText: selector, priority, spec: parseConnectionProfileSpec({}) });
    const ordered = orderAssignments([p('b', 'env=prod', 5), p('a', 'env=prod', 5), p('low', '', 0), p('high', 'team=x', 9)]);
    expect(resolveAssignment(ordered, { env: 'prod' })?.name).toBe('a');
    expect(resolveAssignment(ordered, { env: 'prod', team: 'x' })?.name).toBe('high');
    expect(resolveAssignment(ordered, { env: 'dev' })?.name).toBe('low');
  });
});
