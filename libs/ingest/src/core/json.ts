/** JSON values as stored in jsonb columns, and the conversions from OpAMP messages. */
import { opamp, type IAnyValue, type IKeyValue } from '@opamp/protocol';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const v1 = opamp.proto.v1;
const TO_JSON = { bytes: String, longs: Number, enums: Number, defaults: false } as const;

/** An AnyValue as plain JSON: scalars as themselves, bytes as base64, arrays and kv-lists nested. */
export function anyValueToJson(value: IAnyValue | null | undefined): JsonValue {
  if (!value) return null;
  if (value.stringValue != null) return value.stringValue;
  if (value.boolValue != null) return value.boolValue;
  if (value.intValue != null) return Number(value.intValue);
  if (value.doubleValue != null) return value.doubleValue;
  if (value.bytesValue != null) return Buffer.from(value.bytesValue).toString('base64');
  if (value.arrayValue != null) return (value.arrayValue.values ?? []).map(anyValueToJson);
  if (value.kvlistValue != null) return keyValuesToJson(value.kvlistValue.values);
  return null;
}

/** Repeated KeyValue as one object; a later duplicate key wins, as in OTel resources. */
export function keyValuesToJson(values: readonly IKeyValue[] | null | undefined): JsonObject {
  const out: JsonObject = {};
  for (const kv of values ?? []) {
    if (kv.key == null) continue;
    out[kv.key] = anyValueToJson(kv.value);
  }
  return out;
}

/** A label value (selectors compare strings): scalars as text, structures as compact JSON, null as "". */
export function labelValue(value: JsonValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Labels for selectors: non-identifying attributes first, then identifying
 * ones (which win on a key collision), every value as a string.
 */
export function flattenLabels(identifying: JsonObject, nonIdentifying: JsonObject): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(nonIdentifying)) labels[k] = labelValue(v);
  for (const [k, v] of Object.entries(identifying)) labels[k] = labelValue(v);
  return sortKeys(labels);
}

export function sortKeys<T>(obj: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(obj).sort()) out[k] = obj[k];
  return out;
}

export function healthToJson(health: opamp.proto.v1.IComponentHealth): JsonObject {
  return v1.ComponentHealth.toObject(health as opamp.proto.v1.ComponentHealth, TO_JSON) as JsonObject;
}

export function packageStatusesToJson(statuses: opamp.proto.v1.IPackageStatuses): JsonObject {
  return v1.PackageStatuses.toObject(statuses as opamp.proto.v1.PackageStatuses, TO_JSON) as JsonObject;
}

export function componentsToJson(components: opamp.proto.v1.IAvailableComponents): JsonObject {
  const obj = v1.AvailableComponents.toObject(components as opamp.proto.v1.AvailableComponents, TO_JSON) as JsonObject;
  return (obj['components'] as JsonObject | undefined) ?? {};
}

/** Structural equality of JSON values (object key order ignored). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as JsonValue[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k], bo[k]));
}

export function bytesEqual(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  if (!a || a.length === 0) return !b || b.length === 0;
  if (!b || a.length !== b.length) return false;
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/** A copy that owns its memory (decoded bytes are views into the Kafka record), or null when empty. */
export function ownBytes(bytes: Uint8Array | null | undefined): Buffer | null {
  if (!bytes || bytes.length === 0) return null;
  return Buffer.from(bytes);
}
