/** OpenAPI 3.1 document of the REST mirror, generated from the route table and the .proto. */
import * as protobuf from 'protobufjs';
import { REST_ROUTES } from './rest-routes';
import type { ProtoJson } from './proto-json';

type Schema = Record<string, unknown>;

const SCALARS: Record<string, Schema> = {
  string: { type: 'string' },
  bool: { type: 'boolean' },
  bytes: { type: 'string', format: 'byte' },
  double: { type: 'number' },
  float: { type: 'number' },
  int32: { type: 'integer', format: 'int32' },
  sint32: { type: 'integer', format: 'int32' },
  sfixed32: { type: 'integer', format: 'int32' },
  uint32: { type: 'integer', format: 'int32', minimum: 0 },
  fixed32: { type: 'integer', format: 'int32', minimum: 0 },
};

function fieldSchema(field: protobuf.Field, refs: Set<protobuf.Type>): Schema {
  const t = field.resolvedType;
  let s: Schema;
  if (t instanceof protobuf.Type) {
    refs.add(t);
    s = { $ref: `#/components/schemas/${t.name}` };
  } else if (t instanceof protobuf.Enum) s = { type: 'string', enum: Object.keys(t.values) };
  else s = SCALARS[field.type] ?? { type: 'string', format: field.type };
  if (field.map) return { type: 'object', additionalProperties: s };
  if (field.repeated) return { type: 'array', items: s };
  return field.comment ? { ...s, description: field.comment } : s;
}

function messageSchema(type: protobuf.Type, refs: Set<protobuf.Type>): Schema {
  const properties: Record<string, Schema> = {};
  for (const field of type.fieldsArray) properties[field.name] = fieldSchema(field, refs);
  return { type: 'object', properties, additionalProperties: false };
}

export function buildOpenApi(proto: ProtoJson): Record<string, unknown> {
  const refs = new Set<protobuf.Type>();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of REST_ROUTES) {
    const m = proto.method(r.rpc);
    const req = m.resolvedRequestType as protobuf.Type;
    const res = m.resolvedResponseType as protobuf.Type;
    refs.add(res);
    const pathParams = [...r.path.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]);
    const parameters: Schema[] = pathParams.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    if (!r.body) {
      for (const f of req.fieldsArray) {
        if (pathParams.includes(f.name) || f.resolvedType instanceof protobuf.Type) continue;
        parameters.push({ name: f.name, in: 'query', required: false, schema: fieldSchema(f, refs) });
      }
    }
    const op: Record<string, unknown> = {
      operationId: r.rpc + (r.path.includes('/versions/{version}') ? 'Version' : ''),
      summary: r.summary,
      parameters,
      responses: {
        '200': r.stream
          ? { description: 'A stream of Server-Sent Events, each `data:` one message in proto3 JSON', content: { 'text/event-stream': { schema: { $ref: `#/components/schemas/${res.name}` } } } }
          : { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${res.name}` } } } },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    if (r.body) {
      const bodyType = r.body === '*' ? req : ((req.fields[r.body].resolvedType as protobuf.Type) ?? req);
      refs.add(bodyType);
      op['requestBody'] = { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${bodyType.name}` } } } };
    }
    const path = `/api/v1${r.path}`;
    paths[path] = { ...(paths[path] ?? {}), [r.method.toLowerCase()]: op };
  }
  const schemas: Record<string, Schema> = {
    Error: {
      type: 'object',
      properties: {
        error: {
          type: 'object',
          properties: {
            code: { type: 'integer', description: 'HTTP status' },
            status: { type: 'string', description: 'gRPC status name (UNIMPLEMENTED for 405)' },
            message: { type: 'string' },
            requestId: { type: 'string', description: 'also in the x-request-id response header; an internal error is logged with it' },
          },
        },
      },
    },
  };
  const done = new Set<protobuf.Type>();
  while (done.size < refs.size) {
    for (const t of [...refs]) {
      if (done.has(t)) continue;
      done.add(t);
      schemas[t.name] = messageSchema(t, refs);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'OpAMP fleet platform API',
      version: 'v1',
      description: 'REST/JSON mirror of the fleet.v1.FleetService gRPC API (proto3 JSON mapping). Authenticate with `Authorization: Bearer <admin token>`; every call is scoped to the token\'s tenant.',
    },
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
