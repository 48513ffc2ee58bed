/**
 * The REST mirror's requests before and around its routes: bodies are JSON
 * only (415 otherwise), and whatever express or its JSON parser refuses (a
 * malformed, non-object or too large body, a path that does not decode) or
 * throws is answered in the API's own error envelope with a request id,
 * counted, and (when it is ours, a 500) logged, instead of the framework's page.
 */
import { DesiredStateError, echo, MAX_REST_BODY_BYTES, MAX_REST_JSON_DEPTH, type FleetApiService } from '@opamp/desired-state';
import { nestsDeeperThan } from '@opamp/store';
import type { JsonLog } from '@opamp/process-runtime';
import { errorEnvelope, logInternalError, REQUEST_ID_HEADER, requestIdFrom } from './api-errors';
import { compileRoutes, matchRoute, type CompiledRoute } from './rest-routes';

export const API_PREFIX = '/api/v1';

/** The parts of express's request and response used here (express ships no types in this workspace). */
interface BodyRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}
interface BodyResponse {
  status(code: number): BodyResponse;
  json(body: unknown): void;
  setHeader(name: string, value: string): void;
  readonly headersSent: boolean;
}

/** Whether the request carries a body at all (a POST without one is an empty request). */
export function hasBody(headers: BodyRequest['headers']): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Why a request's body cannot be read as JSON (415), or null. */
export function unsupportedBody(headers: BodyRequest['headers']): string | null {
  if (!hasBody(headers)) return null;
  const type = String(headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') return null;
  return type ? `content-type must be application/json, got ${echo(type)}` : 'content-type must be application/json (the request has a body but no content-type)';
}

/**
 * The JSON parser's verify step: a body nested deeper than MAX_REST_JSON_DEPTH
 * is refused before it is parsed, so nothing walks it (a walk of thousands of
 * levels overflows the stack). Counted and answered like every parser error.
 */
export function refuseDeepJson(_req: unknown, _res: unknown, body: Buffer): void {
  if (nestsDeeperThan(body.toString('utf8'), MAX_REST_JSON_DEPTH)) {
    throw Object.assign(new Error(`request body nests deeper than ${MAX_REST_JSON_DEPTH} levels`), { status: 400, type: 'entity.too.deep' });
  }
}

/** What an error of express or its body parser means for the caller: HTTP status and message; null when it is ours (500). */
export function bodyParserProblem(err: { type?: unknown; status?: unknown; body?: unknown }): { http: number; message: string } | null {
  if (err instanceof URIError) return { http: 400, message: 'the request path is not valid percent-encoded UTF-8' };
  switch (err.type) {
    case 'entity.parse.failed': {
      const first = typeof err.body === 'string' ? err.body.trimStart()[0] : undefined;
      return { http: 400, message: first !== undefined && first !== '{' && first !== '[' ? 'request body must be a JSON object' : 'request body is not valid JSON' };
    }
    case 'entity.too.deep':
      return { http: 400, message: `request body nests deeper than ${MAX_REST_JSON_DEPTH} levels` };
    case 'entity.too.large':
      return { http: 413, message: `request body is larger than ${MAX_REST_BODY_BYTES} bytes` };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { http: 415, message: 'request body must be JSON in UTF-8, without content-encoding' };
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return { http: 400, message: 'request body could not be read' };
    default:
      return typeof err.type === 'string' && typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? { http: err.status, message: 'request body could not be read' } : null;
  }
}

/**
 * An error Nest raised itself (an HttpException: it wraps express's errors,
 * keeping only their status and message). Its message is not echoed: it may
 * quote the request.
 */
function nestProblem(err: { getStatus?: () => number; message?: unknown }): { http: number; message: string } | null {
  const http = typeof err.getStatus === 'function' ? err.getStatus() : undefined;
  if (http === undefined || http < 400 || http >= 500) return null;
  if (typeof err.message === 'string' && err.message.startsWith('Failed to decode param')) return { http: 400, message: 'the request path is not valid percent-encoded UTF-8' };
  return { http, message: `the request was refused (HTTP ${http})` };
}

function rpcOf(routes: readonly CompiledRoute[], req: BodyRequest): string {
  try {
    const found = matchRoute(routes, req.method, req.path.startsWith(API_PREFIX) ? req.path.slice(API_PREFIX.length) : req.path);
    return 'route' in found ? found.route.rpc : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * How the REST mirror answers an error that never reached its controller:
 * the body parser's (as express middleware right after the parser, where the
 * error still says what failed), express's own and Nest's (through
 * RestErrorsFilter, as HttpExceptions), or anything else thrown on the way.
 */
export function restErrors(api: FleetApiService, log: JsonLog, routes: readonly CompiledRoute[] = compileRoutes()) {
  return (err: { type?: unknown; status?: unknown; body?: unknown; getStatus?: () => number; message?: unknown }, req: BodyRequest, res: BodyResponse, next?: (err?: unknown) => void): void => {
    void next; // express tells error middleware by its four parameters
    if (res.headersSent) return;
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    const rpc = rpcOf(routes, req);
    const problem = err && typeof err === 'object' ? (bodyParserProblem(err) ?? nestProblem(err)) : null;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    if (problem) {
      const status = problem.http === 404 ? 'NOT_FOUND' : problem.http === 405 ? 'UNIMPLEMENTED' : 'INVALID_ARGUMENT';
      api.count(new DesiredStateError(status === 'NOT_FOUND' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', problem.message), rpc);
      res.status(problem.http).json(errorEnvelope(problem.http, status, problem.message, requestId));
      return;
    }
    api.count(err, rpc);
    logInternalError(log, err, { transport: 'rest', rpc, requestId });
    res.status(500).json(errorEnvelope(500, 'INTERNAL', `internal error (request id ${requestId})`, requestId));
  };
}
