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

describe('ProtoJson integers beyond their type (issue: silent wrap or truncation)', () => {
  const json = new ProtoJson();
  const req = (rpc: string) => json.method(rpc).resolvedRequestType as unknown as ReturnType<ProtoJson['type']>;

  it.each([
    ['CreateAssignment', { assignment: { name: 'a', priority: 1e308 } }, /'assignment\.priority' must be an integer between -2147483648 and 2147483647, got 1e\+308/],
    ['CreateRollout', { soakTimeMs: 2 ** 53 }, /'soakTimeMs' must be an integer between 0 and 4294967295/],
    ['CreateRollout', { soakTimeMs: 2 ** 32 }, /'soakTimeMs' must be an integer between 0 and 4294967295, got 4294967296/],
    ['GetConfiguration', { name: 'x', version: '4294967297' }, /'version' must be an integer between -2147483648 and 2147483647, got "4294967297"/],
    ['ListRolloutEvents', { name: 'r', afterId: '1180591620717411303424' }, /'afterId' must be an integer between -9007199254740991 and 9007199254740991/],
    ['ListRolloutEvents', { name: 'r', afterId: 2 ** 70 }, /'afterId' must be an integer between -9007199254740991 and 9007199254740991, got 1\.1805916207174113e\+21/],
    ['CreateRollout', { soakTimeMs: 1.5 }, /'soakTimeMs' must be an integer/],
  ] as const)('%s %j is INVALID_ARGUMENT naming the field', (rpc, body, message) => {
    expect(() => json.fromJson(req(rpc), body)).toThrow(message);
  });

  it('keeps every value within the type (64-bit ones up to 2^53 - 1, which the API reads as numbers)', () => {
    expect(json.fromJson(req('CreateAssignment'), { assignment: { priority: -(2 ** 31) } })['assignment']).toMatchObject({ priority: -(2 ** 31) });
    expect(json.fromJson(req('CreateRollout'), { soakTimeMs: 2 ** 32 - 1 })['soakTimeMs']).toBe(2 ** 32 - 1);
    expect(json.fromJson(req('ListRolloutEvents'), { afterId: '9007199254740991' })['afterId']).toBe('9007199254740991');
    expect(() => json.fromJson(req('ListRolloutEvents'), { afterId: '9007199254740993' })).toThrow(/'afterId' must be an integer between/);
  });

  it('reads query parameters of 64-bit fields without rounding them', () => {
    expect(() => json.fromQuery(req('ListRolloutEvents'), { afterId: '1180591620717411303424' })).toThrow(/'afterId' must be an integer between/);
    expect(() => json.fromQuery(req('ListRolloutEvents'), { afterId: '9007199254740993' })).toThrow(/'afterId' must be an integer between/);
    expect(json.fromQuery(req('ListRolloutEvents'), { afterId: '42' })['afterId']).toBe('42');
    expect(() => json.fromQuery(req('GetConfiguration'), { version: '4294967297' })).toThrow(/'version' must be an integer between/);
  });

  it('echoes an unknown 300,000-character field name capped', () => {
    const key = 'k'.repeat(300_000);
    let message = '';
    expect(() => {
      try {
        json.fromJson(req('CreateConfiguration'), { [key]: 1 });
      } catch (err) {
        message = (err as Error).message;
        throw err;
      }
    }).toThrow(/unknown field "k{64}"…\(300000 bytes\) in CreateConfigurationRequest/);
    expect(message.length).toBeLessThan(200);
  });
});
