/**
 * The REST/JSON mirror of FleetService under /api/v1 (proto3 JSON mapping),
 * routed by the table in rest-routes.ts, plus GET /api/v1/openapi.json.
 * Errors are `{"error": {"code": <http>, "status": "<GRPC_CODE>", "message": "..."}}`.
 */
import { All, Controller, Get, Inject, Logger, Req, Res } from '@nestjs/common';
import { DesiredStateError, type AgentWatch, type FleetApiService } from '@opamp/desired-state';
import { errorCode, HTTP_STATUS, publicMessage } from './api-errors';
import { buildOpenApi } from './openapi';
import type { ProtoJson } from './proto-json';
import { compileRoutes, matchRoute } from './rest-routes';
import { invokeRpc } from './rpc-table';
import { openWatch, pumpWatch } from './watch-stream';
import { FLEET_API, PROTO_JSON } from './platform-api.tokens';
import type * as protobuf from 'protobufjs';

const PREFIX = '/api/v1';

/** The parts of the express request and response used here (express ships no types in this workspace). */
interface Request {
  path: string;
  method: string;
  headers: { authorization?: string };
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
  once(event: 'drain' | 'close', listener: () => void): void;
  readonly writableEnded: boolean;
}

/** SSE comment lines keep proxies from closing an idle stream. */
const SSE_KEEP_ALIVE_MS = 15_000;

@Controller('api/v1')
export class FleetRestController {
  private readonly logger = new Logger('rest');
  private readonly routes = compileRoutes();
  private openApi: Record<string, unknown> | null = null;

  constructor(
    @Inject(FLEET_API) private readonly api: FleetApiService,
    @Inject(PROTO_JSON) private readonly proto: ProtoJson,
  ) {}

  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    this.openApi ??= buildOpenApi(this.proto);
    return this.openApi;
  }

  @All('*path')
  async handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    const path = req.path.startsWith(PREFIX) ? req.path.slice(PREFIX.length) : req.path;
    const found = matchRoute(this.routes, req.method, path);
    if ('allowed' in found) {
      if (found.allowed.length > 0) res.setHeader('allow', [...new Set(found.allowed)].join(', '));
      this.sendError(res, found.allowed.length > 0 ? 405 : 404, found.allowed.length > 0 ? 'INVALID_ARGUMENT' : 'NOT_FOUND', found.allowed.length > 0 ? `method ${req.method} not allowed` : `no route ${req.method} ${req.path}`);
      return;
    }
    const { route, params } = found;
    const method = this.proto.method(route.rpc);
    const requestType = method.resolvedRequestType as protobuf.Type;
    const responseType = method.resolvedResponseType as protobuf.Type;
    let invoked = false;
    try {
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
        await this.serveEvents(watch, req, res, responseType);
        return;
      }
      invoked = true;
      const result = await invokeRpc(this.api, route.rpc, req.headers.authorization, request);
      res.status(200).json(this.proto.toJson(responseType, result));
    } catch (err) {
      if (!(err instanceof DesiredStateError)) this.logger.error(`${route.rpc}: ${err instanceof Error ? err.stack : String(err)}`);
      if (!invoked) this.api.count(err, route.rpc);
      const code = errorCode(err);
      this.sendError(res, HTTP_STATUS[code], code, publicMessage(err));
    }
  }

  /** A server stream as Server-Sent Events: `event: change` per message, `event: error` before an abnormal end. */
  private async serveEvents(watch: AgentWatch, req: Request, res: Response, type: protobuf.Type): Promise<void> {
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
      if (!(err instanceof DesiredStateError)) this.logger.error(`WatchAgents: ${err instanceof Error ? err.stack : String(err)}`);
      const code = errorCode(err);
      if (!closed) res.write(`event: error\ndata: ${JSON.stringify({ error: { code: HTTP_STATUS[code], status: code, message: publicMessage(err) } })}\n\n`);
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

  private sendError(res: Response, http: number, status: string, message: string): void {
    res.status(http).json({ error: { code: http, status, message } });
  }
}
