import { AgentCapabilities as C, decodeServerToAgent, encodeServerToAgent } from '@opamp/protocol';
import { hashFiles } from './configuration';
import { CONFIG_STATUS_WAIT_MS } from './limits';
import { customMessage, decideRemoteConfig, gateCustomMessage, gateRestart, isInSync, remoteConfigMessage, restartMessage, sendConnection, type DesiredConfig } from './reconcile';

const files = { 'c.yaml': { body: 'a: 1', contentType: 'text/yaml' } };
const desired: DesiredConfig = { configurationName: 'c', version: 2, files, hash: hashFiles(files) };
const old = hashFiles({ 'c.yaml': { body: 'a: 0', contentType: 'text/yaml' } });
const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig;
const NO_REPORT = C.ReportsStatus | C.AcceptsRemoteConfig;
const uid = Buffer.alloc(16, 7);

const state = (over: Partial<Parameters<typeof decideRemoteConfig>[1]> = {}) => ({
  capabilities: FULL,
  reportedHash: null,
  reportedStatus: 0,
  lastSentHash: null,
  ...over,
});

describe('reconcile decision', () => {
  it('nothing without an assignment or when not renderable', () => {
    expect(decideRemoteConfig(null, state())).toEqual({ send: false, reason: 'no_assignment' });
    expect(decideRemoteConfig(desired, state(), false)).toEqual({ send: false, reason: 'not_renderable' });
  });

  it('C42/C43: never without AcceptsRemoteConfig (latest capabilities)', () => {
    expect(decideRemoteConfig(desired, state({ capabilities: C.ReportsStatus }))).toEqual({ send: false, reason: 'no_accepts_remote_config' });
    expect(decideRemoteConfig(desired, state({ capabilities: 0 })).send).toBe(false);
    expect(decideRemoteConfig(desired, state({ capabilities: C.ReportsStatus | C.ReportsRemoteConfig })).send).toBe(false);
  });

  it('C53: a different reported hash gets the config', () => {
    expect(decideRemoteConfig(desired, state({ reportedHash: old, reportedStatus: 1 }))).toEqual({ send: true, reason: 'hash_differs' });
    expect(decideRemoteConfig(desired, state({ reportedHash: Buffer.alloc(0) })).send).toBe(true);
    // even if it was sent before: the agent says it does not have it
    expect(decideRemoteConfig(desired, state({ reportedHash: old, lastSentHash: desired.hash })).send).toBe(true);
  });

  it('C54: a matching hash leaves the config out', () => {
    expect(decideRemoteConfig(desired, state({ reportedHash: Buffer.from(desired.hash), reportedStatus: 1 }))).toEqual({ send: false, reason: 'in_sync' });
    expect(decideRemoteConfig(desired, state({ reportedHash: desired.hash, reportedStatus: 2 })).send).toBe(false);
  });

  it('C56: FAILED for the current hash is not resent', () => {
    expect(decideRemoteConfig(desired, state({ reportedHash: desired.hash, reportedStatus: 3 }))).toEqual({ send: false, reason: 'failed_for_current_hash' });
    expect(decideRemoteConfig(desired, state({ reportedHash: old, reportedStatus: 3 })).send).toBe(true);
  });

  it('C57: without ReportsRemoteConfig a hash is sent once', () => {
    expect(decideRemoteConfig(desired, state({ capabilities: NO_REPORT }))).toEqual({ send: true, reason: 'never_sent' });
    expect(decideRemoteConfig(desired, state({ capabilities: NO_REPORT, lastSentHash: desired.hash }))).toEqual({ send: false, reason: 'already_sent' });
    expect(decideRemoteConfig(desired, state({ capabilities: NO_REPORT, lastSentHash: old })).send).toBe(true);
  });

  it('in sync: APPLIED for the desired hash, or sent once for agents that do not report', () => {
    expect(isInSync(desired.hash, state({ reportedHash: desired.hash, reportedStatus: 1 }))).toBe(true);
    expect(isInSync(desired.hash, state({ reportedHash: desired.hash, reportedStatus: 3 }))).toBe(false);
    expect(isInSync(desired.hash, state({ reportedHash: old, reportedStatus: 1 }))).toBe(false);
    expect(isInSync(desired.hash, state({ capabilities: NO_REPORT, lastSentHash: desired.hash }))).toBe(true);
    expect(isInSync(null, state())).toBe(false);
  });

  it('C55: the remote config message always carries the hash and the uid', () => {
    const msg = decodeServerToAgent(encodeServerToAgent(remoteConfigMessage(uid, desired)));
    expect(Buffer.from(msg.instanceUid)).toEqual(uid);
    expect(Buffer.from(msg.remoteConfig!.configHash!)).toEqual(desired.hash);
    expect(Buffer.from(msg.remoteConfig!.config!.configMap!['c.yaml'].body!).toString()).toBe('a: 1');
  });

  it('C46: restart is gated and travels alone', () => {
    expect(gateRestart(C.ReportsStatus)).toEqual({ ok: false, reason: expect.stringMatching(/AcceptsRestartCommand/) });
    expect(gateRestart(C.ReportsStatus | C.AcceptsRestartCommand)).toEqual({ ok: true });
    const bytes = encodeServerToAgent(restartMessage(uid));
    const msg = decodeServerToAgent(bytes);
    expect(msg.command).toBeTruthy();
    expect(msg.command!.type).toBe(0);
    expect(Object.keys(msg.toJSON()).sort()).toEqual(['command', 'instanceUid']);
  });

  it('C75: custom messages only for declared capabilities', () => {
    expect(gateCustomMessage(['com.x.pause'], 'com.x.pause')).toEqual({ ok: true });
    expect(gateCustomMessage(['com.x.pause'], 'com.y')).toEqual({ ok: false, reason: "the agent has not declared custom capability 'com.y'" });
    const msg = decodeServerToAgent(encodeServerToAgent(customMessage(uid, 'com.x.pause', 'pause', Buffer.from('1'))));
    expect(msg.customMessage).toMatchObject({ capability: 'com.x.pause', type: 'pause' });
  });
});

describe('the wait for a sent config\'s status (one send per connection and window)', () => {
  const conn = sendConnection({ connected: true, gatewayId: 'gw-1', connectionId: 'c-1', transport: 1 });
  const sent = (over: Partial<Parameters<typeof decideRemoteConfig>[1]> = {}) =>
    state({ reportedHash: old, reportedStatus: 1, lastSentHash: desired.hash, lastSentConnection: conn, lastSentAtMs: 1_000_000, ...over });

  it('an unrelated report before the status does not resend the hash sent to this connection', () => {
    expect(decideRemoteConfig(desired, sent(), true, { connection: conn, nowMs: 1_000_000 + 5_000 })).toEqual({ send: false, reason: 'awaiting_status' });
    expect(decideRemoteConfig(desired, sent(), true, { connection: conn, nowMs: 1_000_000 + CONFIG_STATUS_WAIT_MS - 1 }).send).toBe(false);
  });

  it('after the window (no status came) it is sent again', () => {
    expect(decideRemoteConfig(desired, sent(), true, { connection: conn, nowMs: 1_000_000 + CONFIG_STATUS_WAIT_MS })).toEqual({ send: true, reason: 'hash_differs' });
    expect(decideRemoteConfig(desired, sent(), true, { connection: conn, nowMs: 2_000_000, waitMs: 500 }).send).toBe(true);
  });

  it('a new connection gets it at once: a send to the previous one does not count', () => {
    const next = sendConnection({ connected: true, gatewayId: 'gw-1', connectionId: 'c-2', transport: 1 });
    expect(next).not.toBe(conn);
    expect(decideRemoteConfig(desired, sent(), true, { connection: next, nowMs: 1_000_001 }).send).toBe(true);
    expect(decideRemoteConfig(desired, sent({ lastSentConnection: null }), true, { connection: conn, nowMs: 1_000_001 }).send).toBe(true);
  });

  it('another desired hash is sent at once; without a send context nothing waits', () => {
    expect(decideRemoteConfig(desired, sent({ lastSentHash: old }), true, { connection: conn, nowMs: 1_000_001 }).send).toBe(true);
    expect(decideRemoteConfig(desired, sent()).send).toBe(true);
  });

  it('plain HTTP polls and offline agents share one connection key (the pending store holds the send)', () => {
    expect(sendConnection({ connected: true, gatewayId: 'a', connectionId: 'x', transport: 2 })).toBe(sendConnection({ connected: true, gatewayId: 'b', connectionId: 'y', transport: 2 }));
    expect(sendConnection({ connected: false, gatewayId: null, connectionId: '', transport: 1 })).toBe('pending');
  });
});
