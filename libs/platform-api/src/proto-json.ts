/**
 * The proto3 JSON mapping of fleet/v1 FleetService messages for the REST
 * mirror, from the same .proto the gRPC server loads: request JSON (or query
 * parameters) in, the plain object shape the gRPC loader produces out, and
 * back. Field names are accepted in lowerCamelCase and as in the .proto;
 * unknown fields, wrong JSON types and unknown enum names are rejected.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as protobuf from 'protobufjs';
import { echo, invalidArgument } from '@opamp/desired-state';

export const FLEET_PACKAGE = 'fleet.v1';
export const FLEET_SERVICE = 'FleetService';
const PROTO_RELATIVE = join('proto', 'fleet', 'v1', 'fleet_api.proto');

/** Finds proto/fleet/v1/fleet_api.proto above this file (source tree or dist). */
export function findFleetApiProto(start: string = __dirname): { protoPath: string; includeDir: string } {
  let dir = start;
  for (;;) {
    const candidate = join(dir, PROTO_RELATIVE);
    if (existsSync(candidate)) return { protoPath: candidate, includeDir: join(dir, 'proto') };
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${PROTO_RELATIVE} above ${start}`);
    dir = parent;
  }
}

/** The options the gRPC server's proto-loader uses; the REST side produces the same shapes. */
export const LOADER_OPTIONS = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true, arrays: true, objects: true } as const;
const READ = { longs: String, enums: String, defaults: true, oneofs: true, arrays: true, objects: true } as const;
const WRITE = { longs: String, enums: String, bytes: String, defaults: true, arrays: true, objects: true, json: true } as const;

/**
 * The range of each integer type. protobufjs would wrap or truncate a value
 * beyond it (1e308 as int32 is 0, 4294967297 is 1), so the caller hears of it
 * instead. 64-bit fields stop at 2^53 - 1, as numbers or decimal strings:
 * protobufjs (without Long) and the API read them as JavaScript numbers, which
 * would silently round anything larger.
 */
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-SAFE, SAFE],
  sint64: [-SAFE, SAFE],
  sfixed64: [-SAFE, SAFE],
  uint64: [0n, SAFE],
  fixed64: [0n, SAFE],
};
const FLOAT_TYPES = new Set(['double', 'float']);

/** An integer of `type` from JSON (number or decimal string), or why it is not one. */
export function checkInteger(type: string, v: unknown, at: string): void {
  const [min, max] = INT_RANGES[type];
  const refuse = () => invalidArgument(`'${at}' must be an integer between ${min} and ${max}, got ${echo(v)}`);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw refuse();
  } else if (typeof v !== 'string' || !/^-?\d{1,20}$/.test(v)) throw refuse();
  const n = BigInt(v);
  // protobufjs would wrap a negative number around to a huge unsigned one; the caller should hear it was negative.
  if (n < 0n && min === 0n) throw invalidArgument(`'${at}' must not be negative, got ${echo(v)}`);
  if (n < min || n > max) throw refuse();
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export class ProtoJson {
  readonly root: protobuf.Root;
  readonly service: protobuf.Service;

  constructor(protoPath: string = findFleetApiProto().protoPath) {
    this.root = protobuf.loadSync(protoPath);
    this.root.resolveAll();
    this.service = this.root.lookupService(`${FLEET_PACKAGE}.${FLEET_SERVICE}`);
  }

  method(rpc: string): protobuf.Method {
    const m = this.service.methods[rpc];
    if (!m) throw new Error(`unknown rpc ${rpc}`);
    return m;
  }

  type(name: string): protobuf.Type {
    return this.root.lookupType(`${FLEET_PACKAGE}.${name}`);
  }

  /** JSON request body -> the plain request object. Throws INVALID_ARGUMENT on bad input. */
  fromJson(type: protobuf.Type, json: unknown): Record<string, unknown> {
    const normalized = this.normalize(type, json ?? {}, '');
    return type.toObject(type.fromObject(normalized), READ) as Record<string, unknown>;
  }

  /** Query parameters -> the plain request object (scalars and repeated scalars only). */
  fromQuery(type: protobuf.Type, query: Record<string, unknown>): Record<string, unknown> {
    const json: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(query)) {
      const field = type.fields[key] ?? type.fields[camel(key)];
      if (!field) throw invalidArgument(`unknown query parameter ${echo(key)}`);
      // Only a repeated field takes comma-separated values: a selector such as "env=prod,region=eu" is one value.
      const given = (Array.isArray(raw) ? raw : [raw]).map((v) => String(v));
      const values = (field.repeated ? given.flatMap((v) => v.split(',')) : given).filter((v) => v !== '');
      const convert = (v: string): unknown => {
        if (field.type === 'bool') {
          if (v !== 'true' && v !== 'false') throw invalidArgument(`query parameter '${key}' must be true or false`);
          return v === 'true';
        }
        if (field.type in INT_RANGES) {
          if (!/^-?\d+$/.test(v)) throw invalidArgument(`query parameter '${key}' must be an integer, got ${echo(v)}`);
          return v;
        }
        return v;
      };
      if (field.repeated) json[field.name] = values.map(convert);
      else if (values.length > 0) json[field.name] = convert(values[values.length - 1]);
    }
    return this.fromJson(type, json);
  }

  /** A result object -> proto3 JSON. */
  toJson(type: protobuf.Type, value: unknown): Record<string, unknown> {
    return type.toObject(type.fromObject((value ?? {}) as Record<string, unknown>), WRITE) as Record<string, unknown>;
  }

  private normalize(type: protobuf.Type, json: unknown, path: string): Record<string, unknown> {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalidArgument(`${path || 'request body'} must be a JSON object`);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
      const field = type.fields[key] ?? type.fields[camel(key)];
      const at = `${path}${key}`;
      if (!field) throw invalidArgument(`unknown field ${echo(at)} in ${type.name}`);
      if (value === null) continue;
      if (field.map) {
        if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`'${at}' must be a JSON object`);
        const m: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) m[k] = this.value(field, v, `${at}[${echo(k)}]`);
        out[field.name] = m;
      } else if (field.repeated) {
        if (!Array.isArray(value)) throw invalidArgument(`'${at}' must be a JSON array`);
        out[field.name] = value.map((v, i) => this.value(field, v, `${at}[${i}]`));
      } else out[field.name] = this.value(field, value, at);
    }
    return out;
  }

  private value(field: protobuf.Field, v: unknown, at: string): unknown {
    const t = field.resolvedType;
    if (t instanceof protobuf.Type) return this.normalize(t, v, `${at}.`);
    if (t instanceof protobuf.Enum) {
      if (typeof v === 'string' && v in t.values) return v;
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      throw invalidArgument(`'${at}' must be one of ${Object.keys(t.values).join(', ')}`);
    }
    if (field.type === 'string' && typeof v !== 'string') throw invalidArgument(`'${at}' must be a string`);
    if (field.type === 'bool' && typeof v !== 'boolean') throw invalidArgument(`'${at}' must be true or false`);
    if (field.type === 'bytes' && typeof v !== 'string') throw invalidArgument(`'${at}' must be base64 text`);
    if (field.type in INT_RANGES) checkInteger(field.type, v, at);
    if (FLOAT_TYPES.has(field.type) && typeof v !== 'number') throw invalidArgument(`'${at}' must be a number`);
    return v;
  }
}
