/**
 * Enrollment tokens and tenant identity settings over the real API (issue 14,
 * item 1): a token's expiry, use limit and labels are checked, stored,
 * listed with its state and audited, and its expiry reaches the gateways'
 * Redis directory; a tenant's require_agent_credentials reaches the
 * directory's policies on change and at start-up, the other identity
 * settings are kept per tenant, and an update changes only what it carries.
 */
import * as grpc from '@grpc/grpc-js';
import type Redis from 'ioredis';
import { AgentTokenDirectory, createRedisConnection } from '@opamp/bus-redis';
import { testInfra, waitFor } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const A = 0;
const B = 1;
const DAY_MS = 24 * 3600 * 1000;
const IDENTITY_DEFAULTS = { requireAgentCredentials: false, agentCredentialLifetimeDays: 0, credentialSwitchGraceHours: 168, ownTelemetryToServer: false };

let bed: ConfigServiceBed;
let redis: Redis;
let directory: AgentTokenDirectory;

type Token = Record<string, unknown> & { id: string };

async function tokens(tenant = A): Promise<Token[]> {
  return (await bed.rest('GET', '/agent-tokens', undefined, { tenant })).json['tokens'] as Token[];
}

async function newestAudit(action: string): Promise<Record<string, unknown>> {
  const events = (await bed.rest('GET', `/audit-events?query=${action}&pageSize=1`)).json['events'] as Array<Record<string, string>>;
  return JSON.parse(events[0].detailsJson) as Record<string, unknown>;
}

function errorMessage(json: Record<string, unknown>): string {
  return String((json['error'] as { message?: string } | undefined)?.message);
}

async function policyOf(tenantId: string): Promise<boolean | undefined> {
  return (await directory.loadPolicies()).find((p) => p.tenantId === tenantId)?.requireAgentCredentials;
}

beforeAll(async () => {
  bed = await ConfigServiceBed.start('enroll', { tenants: 2 });
  redis = createRedisConnection({ url: testInfra().redisUrl, connectionName: `${bed.run}-test` });
  directory = new AgentTokenDirectory(redis);
}, 60_000);

afterAll(async () => {
  await redis?.quit();
  await bed?.close();
});

describe('enrollment tokens', () => {
  it('keep an expiry, a use limit and labels, listed with their state and audited; the expiry reaches the gateways\' directory', async () => {
    const expireTime = new Date(Date.now() + 30 * DAY_MS).toISOString();
    const created = await bed.rest('POST', '/agent-tokens', { name: 'daemonset', expireTime, maxUses: 500, labels: { env: 'prod', 'team/name': 'obs core' } });
    expect(created.status).toBe(200);
    const token = created.json['token'] as Token;
    expect(token).toMatchObject({ name: 'daemonset', expireTime, maxUses: 500, uses: 0, labels: { env: 'prod', 'team/name': 'obs core' }, state: 'AGENT_TOKEN_STATE_ACTIVE' });
    expect((await tokens()).find((t) => t.id === token.id)).toEqual(token);

    const entry = (await directory.loadAll()).find((e) => e.tokenId === token.id);
    expect(entry).toMatchObject({ tenantId: bed.tenants[A].id, kind: 'enrollment', expiresAtMs: Date.parse(expireTime) });

    expect(await newestAudit('agent_token.create')).toEqual({ name: 'daemonset', expireTime, maxUses: 500, labels: { env: 'prod', 'team/name': 'obs core' } });

    // Over gRPC the same, and a token without them is as before: no expiry, no limit, no labels.
    const plain = (await bed.rpc('CreateAgentToken', { name: 'plain' }))['token'] as Token;
    expect(plain).toMatchObject({ expireTime: '', maxUses: 0, uses: 0, labels: {}, state: 'AGENT_TOKEN_STATE_ACTIVE' });
    const viaGrpc = (await bed.rpc('ListAgentTokens', {}))['tokens'] as Token[];
    expect(viaGrpc.find((t) => t.id === token.id)).toMatchObject({ expireTime, maxUses: 500, labels: { env: 'prod', 'team/name': 'obs core' } });
    expect((await directory.loadAll()).find((e) => e.tokenId === plain.id)).toEqual(expect.not.objectContaining({ expiresAtMs: expect.anything() }));
  });

  it('show EXPIRED past their expiry, EXHAUSTED at their use limit, REVOKED once revoked; an expired one is left out of the directory at start-up', async () => {
    const soon = (await bed.rpc('CreateAgentToken', { name: 'soon', expireTime: new Date(Date.now() + DAY_MS).toISOString() }))['token'] as Token;
    const few = (await bed.rpc('CreateAgentToken', { name: 'few', maxUses: 2 }))['token'] as Token;
    const gone = (await bed.rpc('CreateAgentToken', { name: 'gone', maxUses: 2 }))['token'] as Token;
    // Time passes and agents enroll (the enrollment flow counts uses).
    await bed.pool.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [soon.id]);
    await bed.pool.query(`UPDATE api_tokens SET uses = 2 WHERE id = ANY($1::uuid[])`, [[few.id, gone.id]]);
    await bed.rpc('RevokeAgentToken', { id: gone.id });
    const states = Object.fromEntries((await tokens()).map((t) => [t.id, t['state']]));
    expect([states[soon.id], states[few.id], states[gone.id]]).toEqual(['AGENT_TOKEN_STATE_EXPIRED', 'AGENT_TOKEN_STATE_EXHAUSTED', 'AGENT_TOKEN_STATE_REVOKED']);

    await bed.api.syncAgentTokens();
    const ids = (await directory.loadAll()).map((e) => e.tokenId);
    expect(ids).not.toContain(soon.id);
    expect(ids).not.toContain(gone.id);
    // A used-up token still speaks for the agents it enrolled.
    expect(ids).toContain(few.id);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an expiry in the past', { expireTime: '2020-01-01T00:00:00Z' }, /expire_time must be in the future/],
    ['an expiry beyond the limit', { expireTime: new Date(Date.now() + 3651 * DAY_MS).toISOString() }, /at most 3650 days ahead/],
    ['an expiry that is no time', { expireTime: 'tomorrow' }, /RFC 3339/],
    ['a negative use limit', { maxUses: -1 }, /max_uses must be between 1 and 10000000/],
    ['a use limit beyond the limit', { maxUses: 10_000_001 }, /max_uses must be between 1 and 10000000/],
    ['a label key a selector cannot name', { labels: { 'a b': 'x' } }, /label key "a b" must be made of/],
    ['a label value with a newline', { labels: { env: 'x\nrole: admin' } }, /must not contain control characters/],
  ])('refuse %s with a 400 naming it, and nothing is created', async (_what, body, message) => {
    const before = (await tokens()).length;
    const r = await bed.rest('POST', '/agent-tokens', { name: 'bad', ...body });
    expect(r.status).toBe(400);
    expect(errorMessage(r.json)).toMatch(message);
    await expect(bed.rpc('CreateAgentToken', { name: 'bad', ...body })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(await tokens()).toHaveLength(before);
  });
});

describe('tenant identity settings', () => {
  it('default, change only what an update carries, keep agent retention, are per tenant and audited', async () => {
    expect((await bed.rest('GET', '/tenant-settings')).json).toEqual({ agentRetentionDays: 7, ...IDENTITY_DEFAULTS });
    await bed.rest('PUT', '/tenant-settings', { agentRetentionDays: 30 });
    const changed = await bed.rest('PUT', '/tenant-settings', { agentCredentialLifetimeDays: 90, credentialSwitchGraceHours: 24 });
    expect(changed.json).toEqual({ agentRetentionDays: 30, requireAgentCredentials: false, agentCredentialLifetimeDays: 90, credentialSwitchGraceHours: 24, ownTelemetryToServer: false });
    expect(await newestAudit('tenant.update_settings')).toEqual({ agentCredentialLifetimeDays: { from: 0, to: 90 }, credentialSwitchGraceHours: { from: 168, to: 24 } });
    expect(await bed.rpc('GetTenantSettings', {})).toMatchObject({ agentRetentionDays: 30, agentCredentialLifetimeDays: 90, credentialSwitchGraceHours: 24 });
    expect((await bed.rest('GET', '/tenant-settings', undefined, { tenant: B })).json).toEqual({ agentRetentionDays: 7, ...IDENTITY_DEFAULTS });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a lifetime beyond 3650 days', { agentCredentialLifetimeDays: 3651 }, /agent_credential_lifetime_days must be a whole number of days/],
    ['a negative lifetime', { agentCredentialLifetimeDays: -1 }, /agent_credential_lifetime_days/],
    ['a grace of 0 hours', { credentialSwitchGraceHours: 0 }, /credential_switch_grace_hours must be a whole number of hours from 1 to 8760/],
    ['a grace beyond a year', { credentialSwitchGraceHours: 8761 }, /credential_switch_grace_hours/],
    ['nothing to change', {}, /settings must carry at least one of/],
  ])('refuse %s with a 400, changing nothing', async (_what, body, message) => {
    const before = (await bed.rest('GET', '/tenant-settings')).json;
    const r = await bed.rest('PUT', '/tenant-settings', body);
    expect(r.status).toBe(400);
    expect(errorMessage(r.json)).toMatch(message);
    expect((await bed.rest('GET', '/tenant-settings')).json).toEqual(before);
  });

  it('publish require_agent_credentials to the gateways\' directory when it changes, and every tenant\'s at start-up', async () => {
    const [a, b] = [bed.tenants[A].id, bed.tenants[B].id];
    const r = await bed.rpc('UpdateTenantSettings', { settings: { requireAgentCredentials: true } });
    expect(r).toMatchObject({ requireAgentCredentials: true });
    expect(await policyOf(a)).toBe(true);
    expect(await newestAudit('tenant.update_settings')).toEqual({ requireAgentCredentials: { from: false, to: true } });

    // A gateway following the channel hears the change too.
    const watcher = createRedisConnection({ url: testInfra().redisUrl, connectionName: `${bed.run}-watch` });
    const heard: unknown[] = [];
    const unwatch = await AgentTokenDirectory.watch(watcher, (change) => {
      if (change.action === 'policy' && change.policy.tenantId === a) heard.push(change.policy.requireAgentCredentials);
    });
    try {
      await bed.rest('PUT', '/tenant-settings', { requireAgentCredentials: false });
      await waitFor(() => heard.length, (n) => n === 1, { description: 'the policy change on the channel' });
      expect(heard).toEqual([false]);
      expect(await policyOf(a)).toBe(false);
    } finally {
      await unwatch();
      await watcher.quit();
    }

    // Drift (set behind the API's back) is repaired by the start-up sync.
    await bed.pool.query(`UPDATE tenants SET require_agent_credentials = true WHERE id = $1`, [b]);
    expect(await policyOf(b)).not.toBe(true);
    await bed.api.syncAgentTokens();
    expect(await policyOf(b)).toBe(true);
    expect(await policyOf(a)).toBe(false);
  });
});
