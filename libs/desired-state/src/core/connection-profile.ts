/**
 * Connection profiles, pure: the other connection settings a group of agents
 * gets (conformance §3.6), chosen like assignments (label selector, priority;
 * core/assignment.ts resolves both), and the offer they shape.
 *
 * A profile's OpAMP part may move its agents to another endpoint, set their
 * heartbeat interval, add headers, a proxy and TLS settings; its
 * other_connections name further destinations. The offer always carries the
 * agent's own credential in `Authorization` (an offer replaces the agent's
 * headers: without it the agent would lose its credential), so a profile may
 * not set that header.
 *
 * Its own_telemetry part (issue 19) names, per signal (metrics, traces,
 * logs), an OTLP/HTTP destination the agents send their own telemetry to.
 * A signal the profile names no destination for goes to this server's OTLP
 * receiver when the tenant enables it (tenant setting
 * own_telemetry_to_server), with the agent's own credential in
 * `Authorization`: the receiver binds what arrives to that agent, and the
 * credential's revocation or rotation reaches it like the OpAMP connection's
 * (C69). An external destination gets only the profile's headers: the
 * agent's credential never leaves for another server.
 *
 * Gating (C45, C61, C62): `opamp` only to AcceptsOpAMPConnectionSettings (0x100),
 * a heartbeat interval only to ReportsHeartbeat (0x2000), other_connections
 * only to AcceptsOtherConnectionSettings (0x200), own_metrics / own_traces /
 * own_logs only to ReportsOwnMetrics (0x40) / ReportsOwnTraces (0x20) /
 * ReportsOwnLogs (0x80). The hash covers the whole offer, with maps in sorted
 * order, so identical content hashes alike (C60) and a changed destination
 * is offered again (only then).
 */
import { AgentCapabilities, hasCapability, opamp } from '@opamp/protocol';
import type { SelectorRanked } from './assignment';
import { echo, invalidArgument } from './errors';
import {
  MAX_CA_PEM_CHARS,
  MAX_CIPHER_SUITES,
  MAX_HEADER_NAME_CHARS,
  MAX_HEADER_VALUE_CHARS,
  MAX_OTHER_CONNECTIONS,
  MAX_OTHER_SETTING_VALUE_CHARS,
  MAX_OTHER_SETTINGS,
  MAX_PROFILE_HEADERS,
  MAX_PROFILE_HEARTBEAT_S,
  MAX_PROFILE_URL_CHARS,
  MAX_TELEMETRY_HEADER_CHARS,
} from './limits';

/** The header an agent's own credential travels in (an offer carries it; a profile may not). */
export const CREDENTIAL_HEADER = 'Authorization';

export interface ProfileHeader {
  readonly key: string;
  readonly value: string;
}

export interface ProfileTls {
  readonly caPemContents: string;
  readonly includeSystemCaCertsPool: boolean;
  readonly insecureSkipVerify: boolean;
  readonly minVersion: string;
  readonly maxVersion: string;
  readonly cipherSuites: readonly string[];
}

export interface ProfileProxy {
  readonly url: string;
  readonly connectHeaders: readonly ProfileHeader[];
}

export interface ProfileOpamp {
  /** Empty: the server's own public endpoint. */
  readonly destinationEndpoint: string;
  /** 0: the server's default interval. */
  readonly heartbeatIntervalSeconds: number;
  readonly headers: readonly ProfileHeader[];
  readonly proxy: ProfileProxy | null;
  readonly tls: ProfileTls | null;
}

export interface ProfileOtherConnection {
  readonly destinationEndpoint: string;
  readonly headers: readonly ProfileHeader[];
  readonly tls: ProfileTls | null;
  readonly proxy: ProfileProxy | null;
  readonly otherSettings: Readonly<Record<string, string>>;
}

/** The signals an agent may report about itself, and the capability each needs. */
export const TELEMETRY_SIGNALS = ['metrics', 'traces', 'logs'] as const;
export type TelemetrySignal = (typeof TELEMETRY_SIGNALS)[number];

const SIGNAL_CAPABILITY: Readonly<Record<TelemetrySignal, number>> = {
  metrics: AgentCapabilities.ReportsOwnMetrics,
  traces: AgentCapabilities.ReportsOwnTraces,
  logs: AgentCapabilities.ReportsOwnLogs,
};

const SIGNAL_FIELD = { metrics: 'ownMetrics', traces: 'ownTraces', logs: 'ownLogs' } as const satisfies Record<TelemetrySignal, keyof opamp.proto.v1.IConnectionSettingsOffers>;

/** An external OTLP/HTTP destination of one signal (the full URL, path included). */
export interface ProfileTelemetry {
  readonly destinationEndpoint: string;
  readonly headers: readonly ProfileHeader[];
  readonly tls: ProfileTls | null;
  readonly proxy: ProfileProxy | null;
}

/** What a profile offers (validated and in canonical order: headers by name, maps by key). */
export interface ConnectionProfileSpec {
  readonly opamp: ProfileOpamp;
  readonly otherConnections: Readonly<Record<string, ProfileOtherConnection>>;
  /** External own-telemetry destinations by signal; a signal not here goes to this server when the tenant enables it. */
  readonly ownTelemetry?: Readonly<Partial<Record<TelemetrySignal, ProfileTelemetry>>>;
}

export interface ConnectionProfile extends SelectorRanked {
  readonly selectorText: string;
  readonly spec: ConnectionProfileSpec;
}

type Raw = Record<string, unknown>;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible characters, spaces and tabs: no CR/LF (header injection) and no other control characters.
const HEADER_VALUE = /^[\t\x20-\x7e\u0080-\uffff]*$/;
const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'];
const CIPHER_SUITE = /^[A-Z0-9_]{1,100}$/;
const CONNECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const SETTING_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

function record(v: unknown, at: string): Raw | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`${at} must be an object`);
  return v as Raw;
}

function text(v: unknown, at: string, max: number): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalidArgument(`${at} must be a string`);
  if (v.length > max) throw invalidArgument(`${at} is limited to ${max} characters, got ${v.length}`);
  return v;
}

function flag(v: unknown, at: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw invalidArgument(`${at} must be true or false`);
  return v;
}

function url(v: unknown, at: string, schemes: readonly string[]): string {
  const s = text(v, at, MAX_PROFILE_URL_CHARS);
  if (!s) return '';
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw invalidArgument(`${at} must be an absolute URL, got ${echo(s)}`);
  }
  if (!schemes.includes(u.protocol.slice(0, -1))) throw invalidArgument(`${at} must use ${schemes.join(', ')}, got ${echo(s)}`);
  if (u.username || u.password) throw invalidArgument(`${at} must not carry credentials in the URL (use headers)`);
  if (!u.hostname) throw invalidArgument(`${at} must name a host, got ${echo(s)}`);
  return u.toString();
}

function headers(v: unknown, at: string, refuseCredential: boolean): ProfileHeader[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidArgument(`${at} must be a list of {key, value}`);
  if (v.length > MAX_PROFILE_HEADERS) throw invalidArgument(`${at}: at most ${MAX_PROFILE_HEADERS} headers, got ${v.length}`);
  const out = v.map((h, i) => {
    const r = record(h, `${at}[${i}]`) ?? {};
    const key = text(r['key'], `${at}[${i}].key`, MAX_HEADER_NAME_CHARS);
    if (!HEADER_NAME.test(key)) throw invalidArgument(`${at}[${i}].key must be an HTTP header name (letters, digits and !#$%&'*+.^_\`|~-), got ${echo(key)}`);
    if (refuseCredential && key.toLowerCase() === CREDENTIAL_HEADER.toLowerCase()) {
      throw invalidArgument(`${at}[${i}]: the ${CREDENTIAL_HEADER} header carries the agent's own credential and cannot be set by a profile`);
    }
    const value = text(r['value'], `${at}[${i}].value`, MAX_HEADER_VALUE_CHARS);
    if (!HEADER_VALUE.test(value)) throw invalidArgument(`${at}[${i}].value must not contain control characters (CR, LF, NUL, ...)`);
    return { key, value };
  });
  // Canonical order (stable for repeated names), so the same headers hash alike however they were listed.
  return out.map((h, i) => ({ h, i })).sort((a, b) => cmp(a.h.key.toLowerCase(), b.h.key.toLowerCase()) || a.i - b.i).map((x) => x.h);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function tls(v: unknown, at: string): ProfileTls | null {
  const r = record(v, at);
  if (!r) return null;
  const caPemContents = text(r['caPemContents'], `${at}.ca_pem_contents`, MAX_CA_PEM_CHARS);
  if (caPemContents && !caPemContents.includes('-----BEGIN CERTIFICATE-----')) throw invalidArgument(`${at}.ca_pem_contents must be PEM certificates (-----BEGIN CERTIFICATE-----)`);
  const version = (f: string, name: string) => {
    const s = text(r[f], `${at}.${name}`, 8);
    if (s && !TLS_VERSIONS.includes(s)) throw invalidArgument(`${at}.${name} must be one of ${TLS_VERSIONS.join(', ')}, got ${echo(s)}`);
    return s;
  };
  const minVersion = version('minVersion', 'min_version');
  const maxVersion = version('maxVersion', 'max_version');
  if (minVersion && maxVersion && TLS_VERSIONS.indexOf(minVersion) > TLS_VERSIONS.indexOf(maxVersion)) throw invalidArgument(`${at}.min_version ${minVersion} is above max_version ${maxVersion}`);
  const suites = r['cipherSuites'] ?? [];
  if (!Array.isArray(suites)) throw invalidArgument(`${at}.cipher_suites must be a list of names`);
  if (suites.length > MAX_CIPHER_SUITES) throw invalidArgument(`${at}.cipher_suites: at most ${MAX_CIPHER_SUITES}, got ${suites.length}`);
  const cipherSuites = suites.map((s, i) => {
    const name = text(s, `${at}.cipher_suites[${i}]`, 100);
    if (!CIPHER_SUITE.test(name)) throw invalidArgument(`${at}.cipher_suites[${i}] must be a cipher suite name (e.g. TLS_AES_128_GCM_SHA256), got ${echo(name)}`);
    return name;
  });
  return {
    caPemContents,
    includeSystemCaCertsPool: flag(r['includeSystemCaCertsPool'], `${at}.include_system_ca_certs_pool`),
    insecureSkipVerify: flag(r['insecureSkipVerify'], `${at}.insecure_skip_verify`),
    minVersion,
    maxVersion,
    cipherSuites,
  };
}

function proxy(v: unknown, at: string): ProfileProxy | null {
  const r = record(v, at);
  if (!r) return null;
  const u = url(r['url'], `${at}.url`, ['http', 'https', 'socks5']);
  if (!u) throw invalidArgument(`${at}.url is required when a proxy is given`);
  return { url: u, connectHeaders: headers(r['connectHeaders'], `${at}.connect_headers`, false) };
}

function heartbeat(v: unknown, at: string): number {
  if (v === undefined || v === null || v === '') return 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,12}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > MAX_PROFILE_HEARTBEAT_S) throw invalidArgument(`${at} must be an integer between 0 (the server's default) and ${MAX_PROFILE_HEARTBEAT_S}, got ${echo(v)}`);
  return n;
}

function otherConnection(v: unknown, at: string): ProfileOtherConnection {
  const r = record(v, at) ?? {};
  const destinationEndpoint = url(r['destinationEndpoint'], `${at}.destination_endpoint`, ['http', 'https', 'ws', 'wss', 'grpc', 'grpcs', 'tcp', 'tls']);
  if (!destinationEndpoint) throw invalidArgument(`${at}.destination_endpoint is required`);
  const settings = record(r['otherSettings'], `${at}.other_settings`) ?? {};
  const keys = Object.keys(settings).sort(cmp);
  if (keys.length > MAX_OTHER_SETTINGS) throw invalidArgument(`${at}.other_settings: at most ${MAX_OTHER_SETTINGS} entries, got ${keys.length}`);
  const otherSettings: Record<string, string> = {};
  for (const k of keys) {
    if (!SETTING_KEY.test(k)) throw invalidArgument(`${at}.other_settings key ${echo(k)} must be 1-128 letters, digits, '.', '_', '/' or '-'`);
    otherSettings[k] = text(settings[k], `${at}.other_settings.${k}`, MAX_OTHER_SETTING_VALUE_CHARS);
  }
  return { destinationEndpoint, headers: headers(r['headers'], `${at}.headers`, false), tls: tls(r['tls'], `${at}.tls`), proxy: proxy(r['proxy'], `${at}.proxy`), otherSettings };
}

function telemetryDestination(v: unknown, at: string): ProfileTelemetry {
  const r = record(v, at) ?? {};
  const destinationEndpoint = url(r['destinationEndpoint'], `${at}.destination_endpoint`, ['http', 'https']);
  if (!destinationEndpoint) throw invalidArgument(`${at}.destination_endpoint is required (the full OTLP/HTTP URL, e.g. https://otlp.example.com/v1/metrics)`);
  const hs = headers(r['headers'], `${at}.headers`, false);
  const total = hs.reduce((n, h) => n + h.key.length + h.value.length, 0);
  if (total > MAX_TELEMETRY_HEADER_CHARS) throw invalidArgument(`${at}.headers: names and values together are limited to ${MAX_TELEMETRY_HEADER_CHARS} characters, got ${total}`);
  return { destinationEndpoint, headers: hs, tls: tls(r['tls'], `${at}.tls`), proxy: proxy(r['proxy'], `${at}.proxy`) };
}

function ownTelemetry(v: unknown, at: string): Partial<Record<TelemetrySignal, ProfileTelemetry>> {
  const r = record(v, at) ?? {};
  for (const k of Object.keys(r)) {
    if (!(TELEMETRY_SIGNALS as readonly string[]).includes(k)) throw invalidArgument(`${at} takes ${TELEMETRY_SIGNALS.join(', ')}, got ${echo(k)}`);
  }
  const out: Partial<Record<TelemetrySignal, ProfileTelemetry>> = {};
  for (const signal of TELEMETRY_SIGNALS) {
    if (r[signal] !== undefined && r[signal] !== null) out[signal] = telemetryDestination(r[signal], `${at}.${signal}`);
  }
  return out;
}

/** Reads and checks a profile's settings (API field names); INVALID_ARGUMENT naming the field otherwise. */
export function parseConnectionProfileSpec(raw: Raw, at = 'connection_profile'): ConnectionProfileSpec {
  const o = record(raw['opamp'], `${at}.opamp`) ?? {};
  const opampPart: ProfileOpamp = {
    destinationEndpoint: url(o['destinationEndpoint'], `${at}.opamp.destination_endpoint`, ['ws', 'wss', 'http', 'https']),
    heartbeatIntervalSeconds: heartbeat(o['heartbeatIntervalSeconds'], `${at}.opamp.heartbeat_interval_seconds`),
    headers: headers(o['headers'], `${at}.opamp.headers`, true),
    proxy: proxy(o['proxy'], `${at}.opamp.proxy`),
    tls: tls(o['tls'], `${at}.opamp.tls`),
  };
  const others = record(raw['otherConnections'], `${at}.other_connections`) ?? {};
  const names = Object.keys(others).sort(cmp);
  if (names.length > MAX_OTHER_CONNECTIONS) throw invalidArgument(`${at}.other_connections: at most ${MAX_OTHER_CONNECTIONS}, got ${names.length}`);
  const otherConnections: Record<string, ProfileOtherConnection> = {};
  for (const name of names) {
    if (!CONNECTION_NAME.test(name)) throw invalidArgument(`${at}.other_connections name ${echo(name)} must be 1-63 letters, digits, '.', '_' or '-'`);
    otherConnections[name] = otherConnection(others[name], `${at}.other_connections.${name}`);
  }
  return { opamp: opampPart, otherConnections, ownTelemetry: ownTelemetry(raw['ownTelemetry'], `${at}.own_telemetry`) };
}

/** The spec as the API shows it (the input shape of parseConnectionProfileSpec; a stored spec is read back through it). */
export function connectionProfileSpecMessage(spec: ConnectionProfileSpec): Record<string, unknown> {
  return {
    opamp: {
      destinationEndpoint: spec.opamp.destinationEndpoint,
      heartbeatIntervalSeconds: spec.opamp.heartbeatIntervalSeconds,
      headers: spec.opamp.headers.map((h) => ({ ...h })),
      ...(spec.opamp.proxy ? { proxy: proxyMessage(spec.opamp.proxy) } : {}),
      ...(spec.opamp.tls ? { tls: { ...spec.opamp.tls, cipherSuites: [...spec.opamp.tls.cipherSuites] } } : {}),
    },
    otherConnections: Object.fromEntries(
      Object.entries(spec.otherConnections).map(([name, c]) => [
        name,
        {
          destinationEndpoint: c.destinationEndpoint,
          headers: c.headers.map((h) => ({ ...h })),
          otherSettings: { ...c.otherSettings },
          ...(c.tls ? { tls: { ...c.tls, cipherSuites: [...c.tls.cipherSuites] } } : {}),
          ...(c.proxy ? { proxy: proxyMessage(c.proxy) } : {}),
        },
      ]),
    ),
    ownTelemetry: Object.fromEntries(
      Object.entries(spec.ownTelemetry ?? {}).map(([signal, t]) => [
        signal,
        {
          destinationEndpoint: t.destinationEndpoint,
          headers: t.headers.map((h) => ({ ...h })),
          ...(t.tls ? { tls: { ...t.tls, cipherSuites: [...t.tls.cipherSuites] } } : {}),
          ...(t.proxy ? { proxy: proxyMessage(t.proxy) } : {}),
        },
      ]),
    ),
  };
}

function proxyMessage(p: ProfileProxy): Record<string, unknown> {
  return { url: p.url, connectHeaders: p.connectHeaders.map((h) => ({ ...h })) };
}

/** A WebSocket agent gets the ws(s) form of an OpAMP endpoint, a plain-HTTP one the http(s) form. */
export function endpointFor(publicUrl: string, transport: 'ws' | 'http'): string {
  const u = new URL(publicUrl);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  u.protocol = transport === 'ws' ? (secure ? 'wss:' : 'ws:') : secure ? 'https:' : 'http:';
  return u.toString();
}

export interface ConnectionOfferInput {
  /** The server's public OpAMP endpoint (used when the profile names none). */
  readonly publicEndpoint: string;
  readonly transport: 'ws' | 'http';
  /** The agent's own credential (offered, or the active one). */
  readonly secret: string;
  /** The server's interval (s), when the profile sets none. */
  readonly heartbeatIntervalSeconds: number;
  /** The agent's client certificate (issue 18: signed from its CSR), offered with the rest. */
  readonly certificate?: opamp.proto.v1.ITLSCertificate | null;
  /**
   * This server's OTLP/HTTP receiver (its origin, e.g. https://fleet.example.com:4320),
   * the destination of the signals a profile names none for; null: the tenant did not enable it.
   */
  readonly ownTelemetryEndpoint?: string | null;
}

/** The OTLP/HTTP URL of a signal on this server's receiver (the standard paths). */
export function ownTelemetryUrl(origin: string, signal: TelemetrySignal): string {
  return new URL(`/v1/${signal}`, origin).toString();
}

/** Where this server's OTLP receiver is, from its public OpAMP endpoint: the same host and port, over http(s). */
export function ownTelemetryOrigin(publicOpampEndpoint: string): string {
  return new URL(endpointFor(publicOpampEndpoint, 'http')).origin;
}

type Offers = opamp.proto.v1.IConnectionSettingsOffers;

const toHeaders = (hs: readonly ProfileHeader[]): opamp.proto.v1.IHeaders => ({ headers: hs.map((h) => ({ key: h.key, value: h.value })) });

function tlsOffer(t: ProfileTls): opamp.proto.v1.ITLSConnectionSettings {
  return {
    caPemContents: t.caPemContents,
    includeSystemCaCertsPool: t.includeSystemCaCertsPool,
    insecureSkipVerify: t.insecureSkipVerify,
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    cipherSuites: [...t.cipherSuites],
  };
}

function proxyOffer(p: ProfileProxy): opamp.proto.v1.IProxyConnectionSettings {
  return { url: p.url, connectHeaders: toHeaders(p.connectHeaders) };
}

/**
 * The offer (without its hash) an agent gets: the profile's settings (or the
 * server's when it has none) as far as the agent's capabilities accept them;
 * null when it accepts none of it.
 */
export function composeConnectionOffer(input: ConnectionOfferInput, profile: ConnectionProfileSpec | null, capabilities: number): Offers | null {
  const offers: Offers = {};
  if (hasCapability(capabilities, AgentCapabilities.AcceptsOpAMPConnectionSettings)) {
    const p = profile?.opamp;
    const settings: opamp.proto.v1.IOpAMPConnectionSettings = {
      destinationEndpoint: endpointFor(p?.destinationEndpoint || input.publicEndpoint, input.transport),
      headers: toHeaders([{ key: CREDENTIAL_HEADER, value: `Bearer ${input.secret}` }, ...(p?.headers ?? [])]),
    };
    if (hasCapability(capabilities, AgentCapabilities.ReportsHeartbeat)) {
      settings.heartbeatIntervalSeconds = Math.max(1, Math.floor(p?.heartbeatIntervalSeconds || input.heartbeatIntervalSeconds));
    }
    if (p?.tls) settings.tls = tlsOffer(p.tls);
    if (p?.proxy) settings.proxy = proxyOffer(p.proxy);
    if (input.certificate) settings.certificate = input.certificate;
    offers.opamp = settings;
  }
  const others = Object.entries(profile?.otherConnections ?? {});
  if (others.length > 0 && hasCapability(capabilities, AgentCapabilities.AcceptsOtherConnectionSettings)) {
    offers.otherConnections = Object.fromEntries(
      [...others]
        .sort(([a], [b]) => cmp(a, b))
        .map(([name, c]) => {
          const o: opamp.proto.v1.IOtherConnectionSettings = {
            destinationEndpoint: c.destinationEndpoint,
            headers: toHeaders(c.headers),
            otherSettings: Object.fromEntries(Object.entries(c.otherSettings).sort(([a], [b]) => cmp(a, b))),
          };
          if (c.tls) o.tls = tlsOffer(c.tls);
          if (c.proxy) o.proxy = proxyOffer(c.proxy);
          return [name, o];
        }),
    );
  }
  let telemetry = false;
  for (const signal of TELEMETRY_SIGNALS) {
    if (!hasCapability(capabilities, SIGNAL_CAPABILITY[signal])) continue;
    const t = telemetryOffer(signal, profile?.ownTelemetry?.[signal] ?? null, input);
    if (t) {
      offers[SIGNAL_FIELD[signal]] = t;
      telemetry = true;
    }
  }
  return offers.opamp || offers.otherConnections || telemetry ? offers : null;
}

/** A signal's destination: the profile's external one, else this server's receiver (with the agent's credential), else none. */
function telemetryOffer(signal: TelemetrySignal, external: ProfileTelemetry | null, input: ConnectionOfferInput): opamp.proto.v1.ITelemetryConnectionSettings | null {
  if (external) {
    const t: opamp.proto.v1.ITelemetryConnectionSettings = { destinationEndpoint: external.destinationEndpoint, headers: toHeaders(external.headers) };
    if (external.tls) t.tls = tlsOffer(external.tls);
    if (external.proxy) t.proxy = proxyOffer(external.proxy);
    return t;
  }
  if (!input.ownTelemetryEndpoint) return null;
  return {
    destinationEndpoint: ownTelemetryUrl(input.ownTelemetryEndpoint, signal),
    headers: toHeaders([{ key: CREDENTIAL_HEADER, value: `Bearer ${input.secret}` }]),
  };
}
