import { ProtoJson } from './proto-json';

describe('ProtoJson.fromQuery', () => {
  const json = new ProtoJson();
  const listAgents = json.type('ListAgentsRequest');

  it('keeps commas inside a scalar such as a label selector', () => {
    expect(json.fromQuery(listAgents, { selector: 'env=prod,region in (eu,us)' })['selector']).toBe('env=prod,region in (eu,us)');
  });

  it('splits comma-separated values of a repeated field and converts scalars', () => {
    const req = json.fromQuery(listAgents, {
      configStatuses: 'REMOTE_CONFIG_STATUS_FAILED,REMOTE_CONFIG_STATUS_APPLYING',
      connected: 'true',
      pageSize: '25',
    });
    expect(req['configStatuses']).toEqual(['REMOTE_CONFIG_STATUS_FAILED', 'REMOTE_CONFIG_STATUS_APPLYING']);
    expect(req['connected']).toBe(true);
    expect(req['pageSize']).toBe(25);
  });

  it('refuses unknown parameters and bad scalars', () => {
    expect(() => json.fromQuery(listAgents, { nope: '1' })).toThrow(/unknown query parameter/);
    expect(() => json.fromQuery(listAgents, { connected: 'yes' })).toThrow(/true or false/);
  });
});
