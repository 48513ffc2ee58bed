/**
 * The agent-detail parts of fleet.v1.Agent (GetAgent only), converted from
 * what status-ingest stores: `agents.health` and `agents.package_statuses` are
 * the OpAMP messages as protobufjs toObject JSON (longs as numbers, bytes as
 * base64, enums as numbers, defaults omitted; libs/ingest core/json.ts),
 * `effective_configs.config_map` is the protobuf-encoded AgentConfigMap and
 * `available_components.components` the ComponentDetails map as JSON.
 */
import { MAX_SHOWN_DEPTH } from '../core/limits';
import { opamp } from '@opamp/protocol';

type Json = Record<string, unknown>;

export interface ComponentHealthMessage {
  healthy: boolean;
  status: string;
  lastError: string;
  startTime: string;
  statusTime: string;
  attributes: Record<string, string>;
  children: Record<string, ComponentHealthMessage>;
}

export interface PackageStatusMessage {
  name: string;
  agentHasVersion: string;
  agentHasHash: string;
  serverOfferedVersion: string;
  serverOfferedHash: string;
  status: string;
  errorMessage: string;
  downloadDetails?: { downloadPercent: number; downloadBytesPerSecond: number };
}

export interface ComponentDetailsMessage {
  metadata: Record<string, string>;
  subComponents: Record<string, ComponentDetailsMessage>;
}

export const PACKAGE_STATES = [
  'PACKAGE_STATE_INSTALLED',
  'PACKAGE_STATE_INSTALL_PENDING',
  'PACKAGE_STATE_INSTALLING',
  'PACKAGE_STATE_INSTALL_FAILED',
  'PACKAGE_STATE_DOWNLOADING',
] as const;


function obj(v: unknown): Json | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Unix nanoseconds (number or decimal string) -> RFC 3339 with milliseconds; "" when 0 or absent. */
export function nanosToIso(v: unknown): string {
  let ms: number;
  if (typeof v === 'number') ms = v / 1e6;
  else if (typeof v === 'string' && /^\d+$/.test(v)) ms = Number(BigInt(v) / 1_000_000n);
  else return '';
  if (!Number.isFinite(ms) || ms <= 0) return '';
  const d = new Date(Math.floor(ms));
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** An OpAMP AnyValue in toObject JSON form as one string (structures as compact JSON). */
export function anyValueText(v: unknown): string {
  const plain = anyValuePlain(v);
  if (plain === null) return '';
  return typeof plain === 'string' ? plain : typeof plain === 'object' ? JSON.stringify(plain) : String(plain);
}

function anyValuePlain(v: unknown): unknown {
  const o = obj(v);
  if (!o) return null;
  if (o['stringValue'] != null) return String(o['stringValue']);
  if (o['boolValue'] != null) return Boolean(o['boolValue']);
  if (o['intValue'] != null) return Number(o['intValue']);
  if (o['doubleValue'] != null) return Number(o['doubleValue']);
  if (o['bytesValue'] != null) return String(o['bytesValue']);
  const arr = obj(o['arrayValue']);
  if (arr) return (Array.isArray(arr['values']) ? arr['values'] : []).map(anyValuePlain);
  const kv = obj(o['kvlistValue']);
  if (kv) return keyValues(kv['values'], anyValuePlain);
  return null;
}

function keyValues<T>(v: unknown, conv: (value: unknown) => T): Record<string, T> {
  const out: Record<string, T> = {};
  for (const kv of Array.isArray(v) ? v : []) {
    const o = obj(kv);
    if (o && typeof o['key'] === 'string') out[o['key']] = conv(o['value']);
  }
  return out;
}

export function componentHealthMessage(stored: unknown, depth = 0): ComponentHealthMessage | null {
  const h = obj(stored);
  if (!h) return null;
  const children: Record<string, ComponentHealthMessage> = {};
  const map = obj(h['componentHealthMap']);
  if (map && depth < MAX_SHOWN_DEPTH) {
    for (const name of Object.keys(map).sort()) {
      const child = componentHealthMessage(map[name], depth + 1);
      if (child) children[name] = child;
    }
  }
  return {
    healthy: h['healthy'] === true,
    status: text(h['status']),
    lastError: text(h['lastError']),
    startTime: nanosToIso(h['startTimeUnixNano']),
    statusTime: nanosToIso(h['statusTimeUnixNano']),
    attributes: keyValues(h['attributes'], anyValueText),
    children,
  };
}

/** The stored download_details (numbers, as the agent sent them), when the agent reported any. */
function downloadDetailsOf(v: unknown): { downloadDetails?: { downloadPercent: number; downloadBytesPerSecond: number } } {
  const d = obj(v);
  if (!d) return {};
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  return { downloadDetails: { downloadPercent: num(d['downloadPercent']), downloadBytesPerSecond: num(d['downloadBytesPerSecond']) } };
}

function base64ToHex(v: unknown): string {
  return typeof v === 'string' && v ? Buffer.from(v, 'base64').toString('hex') : '';
}

export function packageStatusesMessage(stored: unknown): { packages: PackageStatusMessage[]; error: string } {
  const s = obj(stored);
  if (!s) return { packages: [], error: '' };
  const map = obj(s['packages']) ?? {};
  const packages = Object.keys(map)
    .sort()
    .map((key) => {
      const p = obj(map[key]) ?? {};
      const status = typeof p['status'] === 'number' ? p['status'] : 0;
      return {
        name: text(p['name']) || key,
        agentHasVersion: text(p['agentHasVersion']),
        agentHasHash: base64ToHex(p['agentHasHash']),
        serverOfferedVersion: text(p['serverOfferedVersion']),
        serverOfferedHash: base64ToHex(p['serverOfferedHash']),
        status: PACKAGE_STATES[status] ?? PACKAGE_STATES[0],
        errorMessage: text(p['errorMessage']),
        ...downloadDetailsOf(p['downloadDetails']),
      };
    });
  return { packages, error: text(s['errorMessage']) };
}

/** The stored AgentConfigMap -> file name -> {body (UTF-8 text), contentType}. */
export function effectiveConfigFiles(configMap: Buffer | null): Record<string, { body: string; contentType: string }> {
  if (!configMap || configMap.length === 0) return {};
  const decoded = opamp.proto.v1.AgentConfigMap.decode(configMap);
  const out: Record<string, { body: string; contentType: string }> = {};
  for (const name of Object.keys(decoded.configMap ?? {}).sort()) {
    const f = decoded.configMap[name];
    out[name] = { body: Buffer.from(f.body ?? []).toString('utf8'), contentType: f.contentType ?? '' };
  }
  return out;
}

export function componentDetailsMap(stored: unknown, depth = 0): Record<string, ComponentDetailsMessage> {
  const m = obj(stored);
  const out: Record<string, ComponentDetailsMessage> = {};
  if (!m || depth >= MAX_SHOWN_DEPTH) return out;
  for (const name of Object.keys(m).sort()) {
    const d = obj(m[name]) ?? {};
    out[name] = { metadata: keyValues(d['metadata'], anyValueText), subComponents: componentDetailsMap(d['subComponentMap'], depth + 1) };
  }
  return out;
}
