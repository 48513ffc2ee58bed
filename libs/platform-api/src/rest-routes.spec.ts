import { compileRoutes, matchRoute } from './rest-routes';

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
  });

  it('lists the allowed methods of a known path, and nothing for an unknown one', () => {
    expect(rpcOf('PATCH', '/configurations/c1')).toEqual({ allowed: ['GET', 'PUT', 'DELETE'] });
    expect(rpcOf('GET', '/nope')).toEqual({ allowed: [] });
  });
});
