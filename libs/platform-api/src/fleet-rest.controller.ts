/**
 * The REST/JSON mirror of FleetService under /api/v1 (proto3 JSON mapping),
 * routed by the table in rest-routes.ts, plus GET /api/v1/openapi.json.
 * Errors are `{"error": {"code": <http>, "status": "<GRPC_CODE>", "message": "...", "requestId": "..."}}`;
 * every response carries its request id in `x-request-id` (the caller's, when sane).
 */
import { All, Controller, Get, Inject, Optional, Req, Res } from '@nestjs/common';
import { DesiredStateError, echo, type AgentWatch, type FleetApiService } from '@opamp/desired-state';
import { jsonLog, type JsonLog } from '@opamp/process-runtime';
import { errorCode, errorEnvelope, HTTP_STATUS, logInternalError, publicMessage, REQUEST_ID_HEADER, requestIdFrom } from './api-errors';
import { buildOpenApi } from './openapi';
import type { ProtoJson } from './proto-json';
import { compileRoutes, matchRoute } from './rest-routes';
import { invokeRpc } from './rpc-table';
import { openWatch, pumpWatch } from './watch-stream';
import { API_LOG, FLEET_API, PROTO_JSON } from './platform-api.tokens';
import { API_PREFIX, unsupportedBody } from './rest-body';
import type * as protobuf from 'protobufjs';

/** The parts of the express request and response used here (express ships no types in this workspace). */
interface Request {
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined> & { authorization?: string };
  query: unknown;
  body: unknown;
  on(event: 'close', listener: () => void): void;
}
interface Response {
  status(code: number): Response;
  json(body: unknown): void;
  setHeader(name: string, value: string): void;
  flushHeaders(): void;
  write(chunk: string): boolean;
  end(): void;
  send(body: Buffer | string): void;
  once(event: 'drain' | 'close', listener: () => void): void;
  readonly writableEnded: boolean;
}

/** SSE comment lines keep proxies from closing an idle stream. */
const SSE_KEEP_ALIVE_MS = 15_000;

@Controller('api/v1')
export class FleetRestController {
  private readonly routes = compileRoutes();
  private openApi: Record<string, unknown> | null = null;

  constructor(
    @Inject(FLEET_API) private readonly api: FleetApiService,
    @Inject(PROTO_JSON) private readonly proto: ProtoJson,
    @Optional() @Inject(API_LOG) private readonly log: JsonLog = jsonLog,
  ) {}

  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    this.openApi ??= buildOpenApi(this.proto);
    return this.openApi;
  }

  /**
   * A CA's CRL itself, for terminators and tools that fetch CRLs: PEM
   * (application/x-pem-file), or DER (application/pkix-crl, RFC 5280) when
   * asked for with ?format=der or that Accept type. Same token and errors as
   * the JSON route (GetCertificateRevocationList).
   */
  @Get('certificate-authorities/:id/crl')
  async crl(@Req() req: Request, @Res() res: Response): Promise<void> {
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const id = decodeURIComponent(req.path.split('/').slice(-2)[0] ?? '');
    const format = (req.query as Record<string, unknown>)?.['format'];
    const accept = String(req.headers['accept'] ?? '');
    let invoked = false;
    try {
      if (format !== undefined && format !== 'pem' && format !== 'der') throw new DesiredStateError('INVALID_ARGUMENT', 'format must be pem or der');
      invoked = true;
      const list = await invokeRpc(this.api, 'GetCertificateRevocationList', req.headers.authorization, { id });
      const der = format === 'der' || (format === undefined && accept.includes('application/pkix-crl'));
      res.setHeader('cache-control', 'no-cache');
      res.setHeader('content-type', der ? 'application/pkix-crl' : 'application/x-pem-file');
      res.status(200).send(der ? Buffer.from(list['crlDer'] as Uint8Array) : String(list['crlPem']));
    } catch (err) {
      logInternalError(this.log, err, { transport: 'rest', rpc: 'GetCertificateRevocationList', requestId });
      if (!invoked) this.api.count(err, 'GetCertificateRevocationList');
      const code = errorCode(err);
      this.sendError(res, HTTP_STATUS[code], code, publicMessage(err, requestId), requestId);
    }
  }

  @All('*path')
  async handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const path = req.path.startsWith(API_PREFIX) ? req.path.slice(API_PREFIX.length) : req.path;
    let found: ReturnType<typeof matchRoute>;
    try {
      found = matchRoute(this.routes, req.method, path);
    } catch (err) {
      this.api.count(err, 'unknown');
      const code = errorCode(err);
      this.sendError(res, HTTP_STATUS[code], code, publicMessage(err, requestId), requestId);
      return;
    }
    if ('allowed' in found) {
      // 405 is gRPC's UNIMPLEMENTED (the method does not exist on that resource), as grpc-gateway maps it.
      if (found.allowed.length > 0) res.setHeader('allow', [...new Set(found.allowed)].join(', '));
      if (found.allowed.length > 0) this.sendError(res, 405, 'UNIMPLEMENTED', `method ${req.method} is not allowed here; allowed: ${[...new Set(found.allowed)].join(', ')}`, requestId);
      else this.sendError(res, 404, 'NOT_FOUND', `no route ${req.method} ${echo(req.path)}`, requestId);
      this.api.count(new DesiredStateError('NOT_FOUND', 'no route'), 'unknown');
      return;
    }
    const { route, params } = found;
    const method = this.proto.method(route.rpc);
    const requestType = method.resolvedRequestType as protobuf.Type;
    const responseType = method.resolvedResponseType as protobuf.Type;
    let invoked = false;
    try {
      const unsupported = route.body ? unsupportedBody(req.headers) : null;
      if (unsupported) {
        this.api.count(new DesiredStateError('INVALID_ARGUMENT', unsupported), route.rpc);
        this.sendError(res, 415, 'INVALID_ARGUMENT', unsupported, requestId);
        return;
      }
      let json: Record<string, unknown>;
      if (route.body === '*') json = { ...this.bodyObject(req) };
      else if (route.body) json = { [route.body]: this.bodyObject(req) };
      else json = {};
      for (const [name, value] of Object.entries(params)) {
        const parts = name.split('.');
        let target = json;
        for (const p of parts.slice(0, -1)) target = (target[p] ??= {}) as Record<string, unknown>;
        target[parts[parts.length - 1]] = value;
      }
      const request = route.body ? this.proto.fromJson(requestType, json) : this.proto.fromJson(requestType, { ...this.queryObject(requestType, req), ...json });
      if (route.stream) {
        invoked = true;
        const watch = await openWatch(this.api, route.rpc, req.headers.authorization, request);
        await this.serveEvents(watch, req, res, responseType, requestId);
        return;
      }
      invoked = true;
      const result = await invokeRpc(this.api, route.rpc, req.headers.authorization, request);
      res.status(200).json(this.proto.toJson(responseType, result));
    } catch (err) {
      logInternalError(this.log, err, { transport: 'rest', rpc: route.rpc, requestId });
      if (!invoked) this.api.count(err, route.rpc);
      const code = errorCode(err);
      this.sendError(res, HTTP_STATUS[code], code, publicMessage(err, requestId), requestId);
    }
  }

  /** A server stream as Server-Sent Events: `event: change` per message, `event: error` before an abnormal end. */
  private async serveEvents(watch: AgentWatch, req: Request, res: Response, type: protobuf.Type, requestId: string): Promise<void> {
    let closed = false;
    req.on('close', () => {
      closed = true;
      watch.close();
    });
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache, no-transform');
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
    res.write(': watching\n\n');
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), SSE_KEEP_ALIVE_MS);
    keepAlive.unref();
    try {
      await pumpWatch(watch, {
        write: (event) => res.write(`event: change\nid: ${event.cursor}\ndata: ${JSON.stringify(this.proto.toJson(type, event as unknown as Record<string, unknown>))}\n\n`),
        drained: () => new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        }),
        closed: () => closed,
      });
    } catch (err) {
      logInternalError(this.log, err, { transport: 'rest', rpc: 'WatchAgents', requestId });
      const code = errorCode(err);
      if (!closed) res.write(`event: error\ndata: ${JSON.stringify(errorEnvelope(HTTP_STATUS[code], code, publicMessage(err, requestId), requestId))}\n\n`);
    } finally {
      clearInterval(keepAlive);
      watch.close();
      if (!res.writableEnded) res.end();
    }
  }

  private bodyObject(req: Request): Record<string, unknown> {
    const body: unknown = req.body;
    if (body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0)) return {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new DesiredStateError('INVALID_ARGUMENT', 'request body must be a JSON object');
    return body as Record<string, unknown>;
  }

  private queryObject(type: protobuf.Type, req: Request): Record<string, unknown> {
    return this.proto.toJson(type, this.proto.fromQuery(type, req.query as Record<string, unknown>));
  }

  private sendError(res: Response, http: number, status: string, message: string, requestId: string): void {
    res.status(http).json(errorEnvelope(http, status, message, requestId));
  }
}
