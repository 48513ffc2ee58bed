import { DesiredStateError } from './errors';
import { agentPageSql, decodeAgentPageToken, DEFAULT_AGENT_ORDER, encodeAgentPageToken, formatAgentOrder, parseAgentOrder, type AgentOrder } from './agent-order';

const UID = '0123456789abcdef0123456789abcdef';

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DesiredStateError);
    expect((err as DesiredStateError).code).toBe('INVALID_ARGUMENT');
    return (err as Error).message;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('parseAgentOrder', () => {
  it('defaults to instance_uid ascending', () => {
    expect(parseAgentOrder('')).toEqual(DEFAULT_AGENT_ORDER);
    expect(parseAgentOrder('  ')).toEqual({ key: 'instance_uid', direction: 'asc' });
  });

  it('takes snake_case and lowerCamelCase keys with an optional direction', () => {
    expect(parseAgentOrder('last_seen desc')).toEqual({ key: 'last_seen', direction: 'desc' });
    expect(parseAgentOrder('lastSeen DESC')).toEqual({ key: 'last_seen', direction: 'desc' });
    expect(parseAgentOrder(' serviceName ')).toEqual({ key: 'service_name', direction: 'asc' });
    expect(parseAgentOrder('connectedSince asc')).toEqual({ key: 'connected_since', direction: 'asc' });
    for (const key of ['instance_uid', 'service_name', 'host_name', 'last_seen', 'connected_since', 'health', 'config_status'] as const) {
      expect(parseAgentOrder(`${key} desc`)).toEqual({ key, direction: 'desc' });
    }
  });

  it('rejects unknown keys, directions and several keys with a message that says what is allowed', () => {
    expect(invalid(() => parseAgentOrder('labels'))).toBe(
      'order_by: unknown sort key "labels"; one of instance_uid, service_name, host_name, last_seen, connected_since, health, config_status',
    );
    expect(invalid(() => parseAgentOrder('last_seen down'))).toContain('direction must be asc or desc');
    expect(invalid(() => parseAgentOrder('health, last_seen'))).toContain('one sort key');
    expect(invalid(() => parseAgentOrder('health asc extra'))).toContain('"<key> asc|desc"');
  });

  it('formats canonically', () => {
    expect(formatAgentOrder(parseAgentOrder('hostName'))).toBe('host_name asc');
  });
});

describe('agent page tokens', () => {
  const lastSeenDesc: AgentOrder = { key: 'last_seen', direction: 'desc' };

  it('round-trip the position for the order they were issued for', () => {
    const at = { value: '2026-01-02T03:04:05.678901Z', instanceUid: UID };
    expect(decodeAgentPageToken(encodeAgentPageToken(lastSeenDesc, at), lastSeenDesc)).toEqual(at);
    const none = { value: null, instanceUid: UID };
    expect(decodeAgentPageToken(encodeAgentPageToken(lastSeenDesc, none), lastSeenDesc)).toEqual(none);
    const byUid = { value: null, instanceUid: UID };
    expect(decodeAgentPageToken(encodeAgentPageToken(DEFAULT_AGENT_ORDER, byUid), DEFAULT_AGENT_ORDER)).toEqual(byUid);
    const name = { value: 'otelcol "eu", ünïcode', instanceUid: UID };
    const byName: AgentOrder = { key: 'service_name', direction: 'asc' };
    expect(decodeAgentPageToken(encodeAgentPageToken(byName, name), byName)).toEqual(name);
  });

  it('are URL-safe', () => {
    expect(encodeAgentPageToken(lastSeenDesc, { value: '2026-01-02T03:04:05.678901Z', instanceUid: UID })).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('refuse a token of another order or direction', () => {
    const token = encodeAgentPageToken(lastSeenDesc, { value: '2026-01-02T03:04:05.678901Z', instanceUid: UID });
    expect(invalid(() => decodeAgentPageToken(token, { key: 'last_seen', direction: 'asc' }))).toBe(
      'page_token continues order_by "last_seen desc", not "last_seen asc": keep the order_by of the first page, or start again without a page token',
    );
    expect(invalid(() => decodeAgentPageToken(token, DEFAULT_AGENT_ORDER))).toContain('not "instance_uid asc"');
  });

  it('refuse garbage and values the key cannot have', () => {
    const raw = (body: string) => Buffer.from(body).toString('base64url');
    const cases = [
      'not-a-token',
      raw('agents:{'),
      raw('audit:12'),
      raw(`agents:${JSON.stringify({ o: 'last_seen desc', v: '2026-01-02', u: UID })}`),
      raw(`agents:${JSON.stringify({ o: 'last_seen desc', v: '2026-01-02T03:04:05.678901Z', u: 'xyz' })}`),
      raw(`agents:${JSON.stringify({ o: 'last_seen desc', v: 5, u: UID })}`),
    ];
    for (const t of cases) expect(invalid(() => decodeAgentPageToken(t, lastSeenDesc))).toBe('page_token is not valid for this request');
    const health: AgentOrder = { key: 'health', direction: 'asc' };
    expect(invalid(() => decodeAgentPageToken(raw(`agents:${JSON.stringify({ o: 'health asc', v: 'maybe', u: UID })}`), health))).toBe('page_token is not valid for this request');
    // config_status is never NULL, so a token cannot be in the segment without values.
    const status: AgentOrder = { key: 'config_status', direction: 'asc' };
    expect(invalid(() => decodeAgentPageToken(raw(`agents:${JSON.stringify({ o: 'config_status asc', v: null, u: UID })}`), status))).toBe(
      'page_token is not valid for this request',
    );
  });
});

describe('agentPageSql', () => {
  const base = { columns: 'a.instance_uid', from: 'agents a', where: ['a.tenant_id = $1'], params: ['t1'], limit: 51 };

  it('orders by instance uid with a seek, no OFFSET', () => {
    const q = agentPageSql({ ...base, order: { key: 'instance_uid', direction: 'desc' }, after: { value: null, instanceUid: UID } });
    expect(q.sql).toContain('(a.instance_uid < $3::bytea)');
    expect(q.sql).toContain('ORDER BY a.instance_uid DESC LIMIT $2');
    expect(q.sql).not.toMatch(/OFFSET/i);
    expect(q.params).toEqual(['t1', 51, Buffer.from(UID, 'hex')]);
  });

  it('reads a nullable key as the segment with values, then the segment without', () => {
    const q = agentPageSql({ ...base, order: { key: 'last_seen', direction: 'asc' }, after: { value: '2026-01-02T03:04:05.678901Z', instanceUid: UID } });
    expect(q.sql).toContain('((a.last_seen_at, a.instance_uid) > ($3::timestamptz, $4::bytea))');
    expect(q.sql).toContain('(a.last_seen_at IS NULL)');
    expect(q.sql).toContain('UNION ALL');
    expect(q.params).toEqual(['t1', 51, '2026-01-02T03:04:05.678901Z', Buffer.from(UID, 'hex')]);
  });

  it('continues within the segment without values from a token there', () => {
    const q = agentPageSql({ ...base, order: { key: 'health', direction: 'desc' }, after: { value: null, instanceUid: UID } });
    expect(q.sql).not.toContain('UNION ALL');
    expect(q.sql).toContain('(a.healthy IS NULL) AND (a.instance_uid < $3::bytea)');
  });

  it('keeps a never-NULL key in one segment', () => {
    const q = agentPageSql({ ...base, order: { key: 'config_status', direction: 'asc' }, after: null });
    expect(q.sql).not.toContain('UNION ALL');
    expect(q.sql).toContain('ORDER BY a.remote_config_status ASC, a.instance_uid ASC LIMIT $2');
  });
});
