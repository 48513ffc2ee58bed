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

describe('ProtoJson.fromJson', () => {
  const json = new ProtoJson();
  const create = json.type('CreateRolloutRequest');

  it('an unset optional field stays unset; 0 is kept', () => {
    expect(json.fromJson(create, { assignmentName: 'a' })['applyTimeoutMs']).toBeUndefined();
    expect(json.fromJson(create, { assignmentName: 'a', applyTimeoutMs: 0 })['applyTimeoutMs']).toBe(0);
    expect(json.fromJson(create, { apply_timeout_ms: 1500 })['applyTimeoutMs']).toBe(1500);
  });

  it('refuses a negative number for an unsigned field instead of wrapping it around', () => {
    expect(() => json.fromJson(create, { applyTimeoutMs: -1 })).toThrow("'applyTimeoutMs' must not be negative");
    expect(() => json.fromJson(create, { soakTimeMs: '-5' })).toThrow("'soakTimeMs' must not be negative");
  });
});
