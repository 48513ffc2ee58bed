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
import { invalidArgument } from '@opamp/desired-state';

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

const INT_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const FLOAT_TYPES = new Set(['double', 'float']);
// protobufjs would wrap a negative number around to a huge unsigned one; the caller should hear it was negative.
const UNSIGNED_TYPES = new Set(['uint32', 'fixed32', 'uint64', 'fixed64']);

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
      if (!field) throw invalidArgument(`unknown query parameter '${key}'`);
      // Only a repeated field takes comma-separated values: a selector such as "env=prod,region=eu" is one value.
      const given = (Array.isArray(raw) ? raw : [raw]).map((v) => String(v));
      const values = (field.repeated ? given.flatMap((v) => v.split(',')) : given).filter((v) => v !== '');
      const convert = (v: string): unknown => {
        if (field.type === 'bool') {
          if (v !== 'true' && v !== 'false') throw invalidArgument(`query parameter '${key}' must be true or false`);
          return v === 'true';
        }
        if (INT_TYPES.has(field.type)) {
          if (!/^-?\d+$/.test(v)) throw invalidArgument(`query parameter '${key}' must be an integer`);
          return Number(v);
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
      if (!field) throw invalidArgument(`unknown field '${at}' in ${type.name}`);
      if (value === null) continue;
      if (field.map) {
        if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`'${at}' must be a JSON object`);
        const m: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) m[k] = this.value(field, v, `${at}.${k}`);
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
    if (INT_TYPES.has(field.type) && !(typeof v === 'number' ? Number.isInteger(v) : typeof v === 'string' && /^-?\d+$/.test(v))) {
      throw invalidArgument(`'${at}' must be an integer`);
    }
    if (UNSIGNED_TYPES.has(field.type) && Number(v) < 0) throw invalidArgument(`'${at}' must not be negative`);
    if (FLOAT_TYPES.has(field.type) && typeof v !== 'number') throw invalidArgument(`'${at}' must be a number`);
    return v;
  }
}
