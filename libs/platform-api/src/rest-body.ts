/**
 * The REST mirror's request bodies before any route sees them: JSON only
 * (415 otherwise), and a body the JSON parser refused (malformed, not an
 * object, too large) answered in the API's own error envelope and counted
 * as bad input of the rpc its route names, instead of the framework's page.
 */
import { DesiredStateError, echo, type FleetApiService } from '@opamp/desired-state';
import { errorEnvelope, REQUEST_ID_HEADER, requestIdFrom } from './api-errors';
import { compileRoutes, matchRoute, type CompiledRoute } from './rest-routes';

export const API_PREFIX = '/api/v1';
/** Largest request body the REST mirror parses. */
export const MAX_REST_BODY = '2mb';

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

/** What a body-parser error means for the caller: HTTP status and message. */
export function bodyParserProblem(err: { type?: unknown; status?: unknown; body?: unknown }): { http: number; message: string } | null {
  switch (err.type) {
    case 'entity.parse.failed': {
      const first = typeof err.body === 'string' ? err.body.trimStart()[0] : undefined;
      return { http: 400, message: first !== undefined && first !== '{' && first !== '[' ? 'request body must be a JSON object' : 'request body is not valid JSON' };
    }
    case 'entity.too.large':
      return { http: 413, message: `request body is larger than ${MAX_REST_BODY}` };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { http: 415, message: 'request body must be JSON in UTF-8, without content-encoding' };
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return { http: 400, message: 'request body could not be read' };
    default:
      return typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? { http: err.status, message: 'request body could not be read' } : null;
  }
}

/** The express error middleware that answers body-parser errors (register right after the parser). */
export function restBodyErrors(api: FleetApiService, routes: readonly CompiledRoute[] = compileRoutes()) {
  return (err: { type?: unknown; status?: unknown; body?: unknown }, req: BodyRequest, res: BodyResponse, next: (err?: unknown) => void): void => {
    const problem = err && typeof err === 'object' ? bodyParserProblem(err) : null;
    if (!problem || res.headersSent) {
      next(err);
      return;
    }
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    const found = matchRoute(routes, req.method, req.path.startsWith(API_PREFIX) ? req.path.slice(API_PREFIX.length) : req.path);
    api.count(new DesiredStateError('INVALID_ARGUMENT', problem.message), 'route' in found ? found.route.rpc : 'unknown');
    res.setHeader(REQUEST_ID_HEADER, requestId);
    res.status(problem.http).json(errorEnvelope(problem.http, 'INVALID_ARGUMENT', problem.message, requestId));
  };
}
