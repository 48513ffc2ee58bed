/**
 * Owns mutated REST calls of the platform API: a route of the API's table
 * with hostile path parameters, query strings and JSON bodies (hostile text
 * in every field, wrong types, deep nesting, malformed JSON, oversized
 * bodies), some with a missing or wrong token. The route table is passed in,
 * so this lib stays free of the API's framework.
 */
import { drawInt, drawOne, hostileText, type Rng } from './fuzz-draw';

export interface RouteTemplate {
  readonly method: string;
  /** With {param} placeholders, e.g. /configurations/{name}. */
  readonly path: string;
}

export const REST_BODY_MUTATIONS = ['hostile-fields', 'wrong-types', 'deep-json', 'malformed-json', 'oversize', 'no-body'] as const;
export type RestBodyMutation = (typeof REST_BODY_MUTATIONS)[number];

export interface MutatedRestRequest {
  /** `<METHOD path template>/<body mutation>[/bad-auth]`, the kind results are counted by. */
  kind: string;
  method: string;
  /** Path and query, to append to the API's base (…/api/v1). */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Field names the API's requests use, so hostile values land where handlers read them. */
const FIELDS = ['name', 'selector', 'configurationName', 'version', 'files', 'body', 'template', 'labels', 'priority', 'assignment', 'batches', 'capability', 'type', 'data', 'description', 'start'];
const QUERY = ['selector', 'pageSize', 'pageToken', 'groupBy', 'version', 'status', 'after_id', 'wait_ms', 'connected', 'q'];

function hostileJsonValue(rng: Rng, depth = 0): unknown {
  const r = rng();
  if (depth > 2 || r < 0.5) return hostileText(rng, undefined, 16 * 1024);
  if (r < 0.6) return drawOne(rng, [-1, 0, 2 ** 53, 1e308, -0.5, null, true]);
  if (r < 0.8) return Array.from({ length: drawInt(rng, 0, 4) }, () => hostileJsonValue(rng, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let i = drawInt(rng, 0, 4); i > 0; i--) obj[drawOne(rng, FIELDS)] = hostileJsonValue(rng, depth + 1);
  return obj;
}

function body(rng: Rng, mutation: RestBodyMutation): string | undefined {
  switch (mutation) {
    case 'hostile-fields': {
      const obj: Record<string, unknown> = {};
      for (const f of FIELDS) if (rng() < 0.5) obj[f] = hostileJsonValue(rng);
      if (rng() < 0.5) obj['assignment'] = { name: hostileText(rng), selector: hostileText(rng), configurationName: hostileText(rng) };
      if (rng() < 0.5) obj['files'] = { [hostileText(rng)]: hostileText(rng) };
      return JSON.stringify(obj);
    }
    case 'wrong-types': {
      const obj: Record<string, unknown> = {};
      for (const f of FIELDS) if (rng() < 0.5) obj[f] = drawOne(rng, [[], {}, 42, -1, true, null, [[['x']]], { $ne: 1 }]);
      return JSON.stringify(drawOne(rng, [obj, [obj], 'text', 7, null]));
    }
    case 'deep-json': {
      // Deeper than PGlite's stack takes (~6,000) and than PostgreSQL's check (~20,000); at the root or under a field handlers read.
      const depth = drawInt(rng, 100, 25_000);
      const open = drawOne(rng, ['[', '{"a":']);
      const close = open === '[' ? ']' : '}';
      const deep = open.repeat(depth) + JSON.stringify(hostileText(rng, 'plain')) + close.repeat(depth);
      return rng() < 0.5 ? deep : `{"name":${JSON.stringify(hostileText(rng, 'plain'))},${JSON.stringify(drawOne(rng, FIELDS))}:${deep}}`;
    }
    case 'malformed-json':
      return drawOne(rng, ['{', '{"name":}', '\u0000', '{"name":"a"}}', "{'name':'a'}", '[1,2', '{"a":1,"a":2,'.repeat(3)]);
    case 'oversize':
      return JSON.stringify({ name: 'x', files: { 'a.yaml': 'x'.repeat(drawInt(rng, 1, 12) * 1024 * 1024) } });
    case 'no-body':
      return undefined;
  }
}

/** Every UTF-8 byte percent-encoded (encodeURIComponent refuses lone surrogates). */
function percentEncode(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) out += `%${b.toString(16).padStart(2, '0')}`;
  return out;
}

function fillPath(rng: Rng, template: string): string {
  return template.replace(/\{[^}]+\}/g, () => percentEncode(rng() < 0.3 ? hostileText(rng, 'plain') : hostileText(rng, undefined, 8 * 1024)));
}

function query(rng: Rng): string {
  const parts: string[] = [];
  for (let i = drawInt(rng, 0, 3); i > 0; i--) {
    const value = rng() < 0.3 ? String(drawOne(rng, [-1, 0, 1e12, 'NaN', 'abc'])) : hostileText(rng, undefined, 8 * 1024);
    parts.push(`${drawOne(rng, QUERY)}=${percentEncode(value)}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** One mutated call of `routes` with the admin `token` (sometimes withheld or forged). */
export function mutateRestRequest(rng: Rng, routes: readonly RouteTemplate[], token: string): MutatedRestRequest {
  const route = drawOne(rng, routes);
  const mutation: RestBodyMutation = route.method === 'GET' || route.method === 'DELETE' ? 'no-body' : drawOne(rng, REST_BODY_MUTATIONS);
  const auth = rng();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  let authKind = '';
  if (auth < 0.05) authKind = '/no-auth';
  else if (auth < 0.1) {
    authKind = '/bad-auth';
    headers['authorization'] = `Bearer ${hostileText(rng, 'plain')}`;
  } else headers['authorization'] = `Bearer ${token}`;
  return {
    kind: `${route.method} ${route.path}/${mutation}${authKind}`,
    method: route.method,
    path: fillPath(rng, route.path) + query(rng),
    headers,
    body: body(rng, mutation),
  };
}
