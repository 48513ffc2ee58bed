import type * as protobuf from 'protobufjs';
import { buildOpenApi } from './openapi';
import { ProtoJson } from './proto-json';
import { compileRoutes, matchRoute, REST_ROUTES } from './rest-routes';
import { RPC_HANDLERS, STREAM_RPCS } from './rpc-table';

describe('REST routes', () => {
  const routes = compileRoutes();
  const rpcOf = (method: string, path: string) => {
    const m = matchRoute(routes, method, path);
    return 'route' in m ? { rpc: m.route.rpc, params: m.params } : { allowed: m.allowed };
  };

  it('maps resource paths and custom verbs to their RPCs, with path parameters', () => {
    expect(rpcOf('GET', '/configurations/collector-prod')).toEqual({ rpc: 'GetConfiguration', params: { name: 'collector-prod' } });
    expect(rpcOf('POST', '/configurations:validate')).toEqual({ rpc: 'ValidateConfiguration', params: {} });
    expect(rpcOf('POST', '/configurations/c1:render')).toEqual({ rpc: 'RenderConfiguration', params: { name: 'c1' } });
    expect(rpcOf('GET', '/configurations/c1/versions/3')).toEqual({ rpc: 'GetConfiguration', params: { name: 'c1', version: '3' } });
    expect(rpcOf('PUT', '/assignments/prod%20eu')).toEqual({ rpc: 'UpdateAssignment', params: { 'assignment.name': 'prod eu' } });
    expect(rpcOf('DELETE', '/agents/0123456789abcdef0123456789abcdef')).toEqual({ rpc: 'DeleteAgent', params: { instanceUid: '0123456789abcdef0123456789abcdef' } });
    expect(rpcOf('PUT', '/tenant-settings')).toEqual({ rpc: 'UpdateTenantSettings', params: {} });
  });

  it('maps rollout control verbs and sub-resources', () => {
    expect(rpcOf('POST', '/rollouts')).toEqual({ rpc: 'CreateRollout', params: {} });
    expect(rpcOf('GET', '/rollouts/r1')).toEqual({ rpc: 'GetRollout', params: { name: 'r1' } });
    for (const verb of ['start', 'pause', 'resume', 'abort', 'rollback']) {
      expect(rpcOf('POST', `/rollouts/r1:${verb}`)).toEqual({ rpc: `${verb === 'rollback' ? 'Rollback' : verb[0].toUpperCase() + verb.slice(1)}Rollout`, params: { name: 'r1' } });
    }
    expect(rpcOf('GET', '/rollouts/r1/events')).toEqual({ rpc: 'ListRolloutEvents', params: { name: 'r1' } });
    expect(rpcOf('GET', '/rollouts/r1/agents')).toEqual({ rpc: 'ListRolloutAgents', params: { name: 'r1' } });
  });

  it('refuses a path parameter that is not valid percent-encoding (INVALID_ARGUMENT, not a URIError)', () => {
    expect(() => matchRoute(routes, 'GET', '/configurations/%E0%A4%A')).toThrow("path parameter 'name' is not valid percent-encoded UTF-8: \"%E0%A4%A\"");
  });

  it('lists the allowed methods of a known path, and nothing for an unknown one', () => {
    expect(rpcOf('PATCH', '/configurations/c1')).toEqual({ allowed: ['GET', 'PUT', 'DELETE'] });
    expect(rpcOf('GET', '/nope')).toEqual({ allowed: [] });
  });
});

describe('the API tables against the .proto', () => {
  const proto = new ProtoJson();

  it('every FleetService rpc has a handler, every route names an rpc, the OpenAPI document builds', () => {
    expect(Object.keys(proto.service.methods).sort()).toEqual([...Object.keys(RPC_HANDLERS), ...STREAM_RPCS].sort());
    for (const r of REST_ROUTES) expect(() => proto.method(r.rpc)).not.toThrow();
    const doc = buildOpenApi(proto) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/rollouts', '/api/v1/rollouts/{name}:rollback', '/api/v1/rollouts/{name}/events']));
  });

  it('rollout requests map from proto3 JSON', () => {
    const type = proto.method('CreateRollout').resolvedRequestType as protobuf.Type;
    const req = proto.fromJson(type, {
      assignment_name: 'prod',
      strategy: { steps: [{ count: 1 }, { percent: 50 }] },
      gates: { maxFailedPercent: 10 },
      soakTimeMs: 300,
      autoRollback: true,
      start: true,
    });
    expect(req).toMatchObject({ assignmentName: 'prod', soakTimeMs: 300, autoRollback: true, start: true, gates: { maxFailedAgents: 0, maxFailedPercent: 10 } });
    expect((req['strategy'] as { steps: unknown[] }).steps).toEqual([{ count: 1, percent: 0 }, { count: 0, percent: 50 }]);
  });
});

describe('WatchAgents on REST', () => {
  it('is GET /agents:watch, a text/event-stream in the OpenAPI document', () => {
    const routes = compileRoutes();
    const m = matchRoute(routes, 'GET', '/agents:watch');
    expect('route' in m && m.route.rpc).toBe('WatchAgents');
    const other = matchRoute(routes, 'GET', '/agents/0123');
    expect('route' in other && other.route.rpc).toBe('GetAgent');
    const doc = buildOpenApi(new ProtoJson()) as { paths: Record<string, { get: { responses: Record<string, { content: Record<string, unknown> }>; parameters: Array<{ name: string }> } }> };
    const op = doc.paths['/api/v1/agents:watch'].get;
    expect(Object.keys(op.responses['200'].content)).toEqual(['text/event-stream']);
    expect(op.parameters.map((p) => p.name)).toEqual(['selector', 'connected', 'healthy', 'inSync', 'configStatuses']);
  });
});
