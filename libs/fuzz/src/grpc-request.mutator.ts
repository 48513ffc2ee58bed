/**
 * Owns mutated gRPC calls of the platform API: a method of the service
 * (passed in with its request type, so this lib stays free of the gRPC
 * framework) with a body that is a request of that type full of hostile
 * values (text, extreme numbers, out-of-range enums, huge repeated fields,
 * nesting), that message cut short or with bytes flipped, random bytes, an
 * empty body, or one beyond the server's receive limit; some calls carry no
 * token, a forged one, or name a method that does not exist.
 */
import type { Field, MapField, Type } from 'protobufjs';
import { drawBytes, drawInt, drawOne, hostileText, type Rng } from './fuzz-draw';

export interface GrpcMethodTemplate {
  /** `/package.Service/Method` */
  readonly path: string;
  readonly requestType: Type;
  /** Server streaming (a watch): the caller reads a little and cancels. */
  readonly serverStream?: boolean;
}

export const GRPC_BODY_MUTATIONS = ['hostile-fields', 'truncated', 'flipped', 'random-bytes', 'empty', 'oversize'] as const;
export type GrpcBodyMutation = (typeof GRPC_BODY_MUTATIONS)[number];

export interface MutatedGrpcCall {
  /** `<Method>/<body mutation>[/no-auth|/bad-auth][/unknown-method]`, the kind results are counted by. */
  kind: string;
  path: string;
  serverStream: boolean;
  /** Metadata to send (the authorization header, when any). */
  metadata: Record<string, string>;
  body: Buffer;
}

/** Above gRPC's default 4 MiB receive limit: the server must refuse it, not buffer it. */
const OVERSIZE_BYTES = 5 * 1024 * 1024;
const NUMBERS = [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 + 1, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER];
const INT64_TEXT = ['9223372036854775807', '-9223372036854775808', '18446744073709551615', '0'];

function scalar(rng: Rng, type: string, depth: number): unknown {
  switch (type) {
    case 'string':
      return hostileText(rng, undefined, depth === 0 ? 300_000 : 8 * 1024);
    case 'bytes':
      return drawBytes(rng, drawOne(rng, [0, 1, 15, 16, 17, 32, drawInt(rng, 0, 4096)]));
    case 'bool':
      return rng() < 0.5;
    case 'double':
    case 'float':
      return drawOne(rng, [Number.NaN, Infinity, -Infinity, 1e308, -0.5, 0]);
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return drawOne(rng, INT64_TEXT);
    default:
      // int32 and friends, and enums (out-of-range values included).
      return drawOne(rng, NUMBERS);
  }
}

function fieldValue(rng: Rng, field: Field, depth: number): unknown {
  field.resolve();
  const one = (): unknown => {
    const t = field.resolvedType;
    if (t && 'fields' in t) return hostileMessage(rng, t as Type, depth + 1);
    if (t) return drawOne(rng, [...Object.values((t as { values: Record<string, number> }).values), 999, -7]);
    return scalar(rng, field.type, depth);
  };
  if ('keyType' in field && (field as unknown as MapField).keyType) {
    const out: Record<string, unknown> = {};
    for (let i = drawInt(rng, 0, 4); i > 0; i--) out[hostileText(rng, undefined, 1024)] = one();
    return out;
  }
  // Long lists at the top only: nested ones would multiply into millions of values.
  if (field.repeated) return Array.from({ length: drawOne(rng, [0, 1, 3, depth === 0 ? drawInt(rng, 0, 2000) : 8]) }, one);
  return one();
}

/** A request of `type` with a hostile value in about half of its fields (nested messages up to 3 deep). */
export function hostileMessage(rng: Rng, type: Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (depth > 3) return out;
  for (const field of type.fieldsArray) if (rng() < 0.5) out[field.name] = fieldValue(rng, field, depth);
  return out;
}

function encoded(rng: Rng, type: Type): Buffer {
  // Out-of-range numbers are the point: protobufjs writes them as they are (wrapped), which the server must take.
  return Buffer.from(type.encode(type.create(hostileMessage(rng, type))).finish());
}

function body(rng: Rng, type: Type, mutation: GrpcBodyMutation): Buffer {
  switch (mutation) {
    case 'hostile-fields':
      return encoded(rng, type);
    case 'truncated': {
      const b = encoded(rng, type);
      return b.subarray(0, b.length > 1 ? drawInt(rng, 1, b.length - 1) : 0);
    }
    case 'flipped': {
      const b = Buffer.from(encoded(rng, type));
      for (let i = drawInt(rng, 1, 8); i > 0 && b.length > 0; i--) b[drawInt(rng, 0, b.length - 1)] ^= 1 << drawInt(rng, 0, 7);
      return b;
    }
    case 'random-bytes':
      return drawBytes(rng, drawInt(rng, 1, 4096));
    case 'empty':
      return Buffer.alloc(0);
    case 'oversize': {
      const name = type.fieldsArray.find((f) => f.type === 'string')?.name;
      const big = 'x'.repeat(OVERSIZE_BYTES);
      return name ? Buffer.from(type.encode(type.create({ [name]: big })).finish()) : Buffer.concat([Buffer.from([0x0a]), Buffer.from(big)]);
    }
  }
}

/** One mutated call of one of `methods` with the admin `token` (sometimes withheld or forged). */
export function mutateGrpcCall(rng: Rng, methods: readonly GrpcMethodTemplate[], token: string): MutatedGrpcCall {
  const method = drawOne(rng, methods);
  // An oversized body costs 5 MiB to make and send: a few of them prove the limit.
  const mutation: GrpcBodyMutation = rng() < 0.02 ? 'oversize' : drawOne(rng, GRPC_BODY_MUTATIONS.filter((m) => m !== 'oversize'));
  const metadata: Record<string, string> = {};
  let suffix = '';
  const auth = rng();
  if (auth < 0.05) suffix = '/no-auth';
  else if (auth < 0.1) {
    suffix = '/bad-auth';
    metadata['authorization'] = `Bearer ${hostileText(rng, 'plain')}`;
  } else metadata['authorization'] = `Bearer ${token}`;
  let path = method.path;
  if (rng() < 0.03) {
    path = `${method.path.slice(0, method.path.lastIndexOf('/') + 1)}${hostileText(rng, 'plain')}`;
    suffix += '/unknown-method';
  }
  const name = method.path.slice(method.path.lastIndexOf('/') + 1);
  return { kind: `${name}/${mutation}${suffix}`, path, serverStream: method.serverStream === true, metadata, body: body(rng, method.requestType, mutation) };
}
