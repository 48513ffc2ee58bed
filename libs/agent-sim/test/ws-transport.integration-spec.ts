import {
  AgentCapabilities,
  configHash,
  newInstanceUidV7,
  RemoteConfigStatuses,
  ServerErrorResponseType,
  ServerToAgentFlags,
} from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import * as net from 'node:net';
import { sourcePortPool, type AgentError } from '../src';
import { ack, type Received } from './opamp-test-peer';
import { configMap, isFull, offer, useTransportTestBed, WAIT } from './transport-test-bed';

const bed = useTransportTestBed({
  endpoint: (peer) => peer.wsUrl,
  description: { identifying: { 'service.name': 'otelcol' }, nonIdentifying: { 'host.name': 'sim-1' } },
});
const { agent } = bed;

function uidOf(r: Received): Buffer {
  return Buffer.from(r.message.instanceUid);
}

describe('SimulatedAgent over WebSocket', () => {
  it('sends the full state first, with seq 0, headers and a permessage-deflate offer', async () => {
    const uid = newInstanceUidV7();
    const a = agent({
      instanceUid: uid,
      headers: { Authorization: 'Bearer t0k3n' },
      initialEffectiveConfig: configMap('receivers: {}'),
      customCapabilities: ['io.example.echo/v1'],
    });
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    expect(uidOf(first).equals(uid)).toBe(true);
    expect(first.message.sequenceNum).toBe(0);
    expect(first.message.capabilities).toBe(a.capabilities);
    expect(first.message.agentDescription?.identifyingAttributes?.[0]).toMatchObject({ key: 'service.name', value: { stringValue: 'otelcol' } });
    expect(first.message.health?.healthy).toBe(true);
    expect(Buffer.from(first.message.effectiveConfig!.configMap!.configMap![''].body!).toString()).toBe('receivers: {}');
    expect(first.message.remoteConfigStatus?.status ?? 0).toBe(RemoteConfigStatuses.RemoteConfigStatuses_UNSET);
    expect(first.message.customCapabilities?.capabilities).toEqual(['io.example.echo/v1']);
    expect(first.headers.authorization).toBe('Bearer t0k3n');
    expect(first.headers['sec-websocket-extensions']).toContain('permessage-deflate');
    expect(first.headers['sec-websocket-extensions']).toContain('server_no_context_takeover');
    expect(bed.peer.lastExtensions).toContain('permessage-deflate');
    await waitFor(() => a.connected && a.receivedCount, (n) => n === 1, WAIT);
  });

  it('does not offer permessage-deflate when turned off', async () => {
    agent({ perMessageDeflate: false }).start();
    const [first] = await bed.peer.waitForMessages(1);
    expect(first.headers['sec-websocket-extensions']).toBeUndefined();
    expect(bed.peer.lastExtensions).toBe('');
  });

  it('sends heartbeats (uid+seq+caps) every interval after the last message, with seq +1', async () => {
    const a = agent({ heartbeatIntervalMs: 80 });
    a.start();
    const list = await bed.peer.waitForMessages(3);
    expect(list.map((r) => r.message.sequenceNum)).toEqual([0, 1, 2]);
    for (const hb of list.slice(1)) {
      expect(hb.message.agentDescription).toBeFalsy();
      expect(hb.message.health).toBeFalsy();
      expect(hb.message.remoteConfigStatus).toBeFalsy();
      expect(hb.message.capabilities).toBe(a.capabilities);
      expect(uidOf(hb).equals(a.instanceUid)).toBe(true);
    }
    expect(list[2].at - list[1].at).toBeGreaterThanOrEqual(70);
  });

  it('sends no heartbeats without ReportsHeartbeat', async () => {
    const silent = agent({ heartbeatIntervalMs: 30, capabilities: AgentCapabilities.ReportsStatus });
    const control = agent({ heartbeatIntervalMs: 30 });
    silent.start();
    control.start();
    // While the control agent sends three heartbeats, the silent one sends none.
    await bed.peer.waitForMessages(4, (r) => uidOf(r).equals(control.instanceUid));
    expect(bed.peer.messages((r) => uidOf(r).equals(silent.instanceUid))).toHaveLength(1);
    expect(silent.sent).toBe(1);
  });

  it('takes the heartbeat interval offered by the server', async () => {
    const a = agent({ heartbeatIntervalMs: 60_000 });
    bed.peer.reply = (r) =>
      r.message.sequenceNum === 0
        ? { ...ack(r) as object, connectionSettings: { opamp: { destinationEndpoint: bed.peer.wsUrl, heartbeatIntervalSeconds: 1 } } }
        : ack(r);
    a.start();
    await waitFor(() => a.heartbeatIntervalMs, (ms) => ms === 1000, WAIT);
    const list = await bed.peer.waitForMessages(2);
    expect(list[1].message.agentDescription).toBeFalsy();
    expect(list[1].at - list[0].at).toBeGreaterThanOrEqual(900);
  });

  it('reconnects after the server closes, continuing seq and resending full state', async () => {
    const a = agent();
    a.start();
    await bed.peer.waitForMessages(1);
    bed.peer.closeAll();
    const list = await bed.peer.waitForMessages(2);
    expect(list[1].connection).toBe(2);
    expect(list[1].message.sequenceNum).toBe(1);
    expect(isFull(list[1])).toBe(true);
    expect(a.errorsByKind.transport).toBe(1);
  });

  it('Go style: after a reconnect the first message is only uid+seq+caps', async () => {
    const a = agent({ firstMessageCompressedOnReconnect: true });
    a.start();
    await bed.peer.waitForMessages(1);
    bed.peer.closeAll(1000);
    const list = await bed.peer.waitForMessages(2);
    expect(list[1].connection).toBe(2);
    expect(list[1].message.sequenceNum).toBe(1);
    expect(Object.keys(list[1].message.toJSON()).sort()).toEqual(['capabilities', 'instanceUid', 'sequenceNum']);
  });

  it('applies a remote config: APPLYING, then APPLIED with the effective config; same hash is not re-applied', async () => {
    const a = agent({ applyConfig: { delayMs: 50 } });
    const events: string[] = [];
    a.on('remoteConfig', () => events.push('remoteConfig'));
    a.on('applied', (s) => events.push(`applied:${s.status}`));
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    const push = offer(first, 'exporters: {debug: {}}');
    bed.peer.push(push);
    const list = await bed.peer.waitForMessages(3);
    const hash = Buffer.from(push.remoteConfig!.configHash!);
    expect(list[1].message.remoteConfigStatus?.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_APPLYING);
    expect(Buffer.from(list[1].message.remoteConfigStatus!.lastRemoteConfigHash!).equals(hash)).toBe(true);
    expect(list[1].message.effectiveConfig).toBeFalsy();
    expect(list[2].message.remoteConfigStatus?.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_APPLIED);
    expect(Buffer.from(list[2].message.effectiveConfig!.configMap!.configMap![''].body!).toString()).toBe('exporters: {debug: {}}');
    expect(a.remoteConfigStatus.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_APPLIED);
    expect(events).toEqual(['remoteConfig', `applied:${RemoteConfigStatuses.RemoteConfigStatuses_APPLIED}`]);

    // The same offer again: no APPLYING. A custom marker message proves the offer was processed first.
    bed.peer.push(push);
    bed.peer.push({ instanceUid: a.instanceUid, flags: ServerToAgentFlags.ReportFullState });
    const after = await bed.peer.waitForMessages(4);
    expect(isFull(after[3])).toBe(true);
    expect(after[3].message.remoteConfigStatus?.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_APPLIED);
    expect(events).toHaveLength(2);
  });

  it('reports FAILED with error_message when the policy fails', async () => {
    const a = agent({ applyConfig: { delayMs: 10, failureRate: 1, errorMessage: 'pipeline invalid' } });
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    bed.peer.push(offer(first, 'bad'));
    const list = await bed.peer.waitForMessages(3);
    expect(list[2].message.remoteConfigStatus).toMatchObject({
      status: RemoteConfigStatuses.RemoteConfigStatuses_FAILED,
      errorMessage: 'pipeline invalid',
    });
    expect(list[2].message.effectiveConfig).toBeFalsy();
    expect(a.effectiveConfig).toBeUndefined();
  });

  it('uses an apply callback; a throw fails the apply with its message', async () => {
    const seen: string[] = [];
    const a = agent({
      applyConfig: async (config) => {
        const body = Buffer.from(config.configMap![''].body!).toString();
        seen.push(body);
        if (body.includes('bad')) throw new Error('rejected by callback');
      },
    });
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    bed.peer.push(offer(first, 'good'));
    await waitFor(() => a.remoteConfigStatus.status, (s) => s === RemoteConfigStatuses.RemoteConfigStatuses_APPLIED, WAIT);
    bed.peer.push(offer(first, 'bad'));
    await waitFor(() => a.remoteConfigStatus.status, (s) => s === RemoteConfigStatuses.RemoteConfigStatuses_FAILED, WAIT);
    expect(a.remoteConfigStatus.errorMessage).toBe('rejected by callback');
    expect(seen).toEqual(['good', 'bad']);
    expect(Buffer.from(a.effectiveConfig!.configMap![''].body!).toString()).toBe('good');
  });

  it('ignores remote config without AcceptsRemoteConfig', async () => {
    const a = agent({ capabilities: AgentCapabilities.ReportsStatus | AgentCapabilities.ReportsRemoteConfig });
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    bed.peer.push(offer(first, 'x'));
    bed.peer.push({ instanceUid: a.instanceUid, flags: ServerToAgentFlags.ReportFullState });
    const list = await bed.peer.waitForMessages(2);
    expect(list[1].message.remoteConfigStatus?.status ?? 0).toBe(RemoteConfigStatuses.RemoteConfigStatuses_UNSET);
    expect(a.received.filter((m) => m.remoteConfig)).toHaveLength(1);
    expect(a.remoteConfigStatus.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_UNSET);
  });

  it('restart command: emits restart, reconnects, seq starts at 0 again with full state', async () => {
    const a = agent();
    let restarts = 0;
    a.on('restart', () => restarts++);
    a.start();
    await bed.peer.waitForMessages(1);
    a.setHealth({ healthy: true, status: 'still ok' });
    await bed.peer.waitForMessages(2);
    bed.peer.push({ instanceUid: a.instanceUid, command: { type: 0 } });
    const list = await bed.peer.waitForMessages(4);
    expect(restarts).toBe(1);
    expect(list[2].message.agentDisconnect).toBeTruthy();
    expect(list[2].connection).toBe(1);
    expect(list[3].connection).toBe(2);
    expect(list[3].message.sequenceNum).toBe(0);
    expect(isFull(list[3])).toBe(true);
  });

  it('ignores a restart command without AcceptsRestartCommand', async () => {
    const a = agent({ capabilities: AgentCapabilities.ReportsStatus | AgentCapabilities.ReportsHealth });
    let restarts = 0;
    a.on('restart', () => restarts++);
    a.start();
    await bed.peer.waitForMessages(1);
    bed.peer.push({ instanceUid: a.instanceUid, command: { type: 0 } });
    a.setHealth({ healthy: false, lastError: 'boom' });
    const list = await bed.peer.waitForMessages(2);
    expect(list[1].connection).toBe(1);
    expect(list[1].message.health).toMatchObject({ healthy: false, lastError: 'boom' });
    expect(restarts).toBe(0);
    expect(bed.peer.wsConnections).toBe(1);
  });

  it('answers ReportFullState with the full state and ReportAvailableComponents with the component map', async () => {
    const a = agent({
      capabilities: AgentCapabilities.ReportsStatus | AgentCapabilities.ReportsAvailableComponents | AgentCapabilities.ReportsHealth,
      availableComponents: { components: { receivers: { subComponentMap: { otlp: {} } } } },
    });
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    expect(first.message.availableComponents?.hash?.length).toBe(32);
    expect(Object.keys(first.message.availableComponents?.components ?? {})).toEqual([]);
    bed.peer.push({ instanceUid: a.instanceUid, flags: ServerToAgentFlags.ReportAvailableComponents });
    const list = await bed.peer.waitForMessages(2);
    expect(Object.keys(list[1].message.availableComponents?.components ?? {})).toEqual(['receivers']);
    expect(list[1].message.agentDescription).toBeFalsy();
    bed.peer.push({ instanceUid: a.instanceUid, flags: ServerToAgentFlags.ReportFullState });
    const full = await bed.peer.waitForMessages(3);
    expect(isFull(full[2])).toBe(true);
    expect(full[2].message.health).toBeTruthy();
  });

  it('honours Retry-After on a refused upgrade (503) and counts http_status', async () => {
    const errors: AgentError[] = [];
    let refusals = 1;
    bed.peer.refuseUpgrade = () => (refusals-- > 0 ? { status: 503, headers: { 'Retry-After': '1' } } : undefined);
    const a = agent({ reconnect: { initialMs: 60_000, maxMs: 60_000 } });
    a.on('error', (e) => errors.push(e));
    const started = Date.now();
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    expect(first.at - started).toBeGreaterThanOrEqual(950);
    expect(errors[0]).toMatchObject({ kind: 'http_status', status: 503, retryAfterMs: 1000 });
    expect(a.errorsByKind).toEqual({ http_status: 1 });
  });

  it('clamps a server retry delay with minRetryMs (429, Retry-After 0)', async () => {
    const errors: AgentError[] = [];
    let refusals = 1;
    bed.peer.refuseUpgrade = () => (refusals-- > 0 ? { status: 429, headers: { 'Retry-After': '0' } } : undefined);
    const a = agent({ minRetryMs: 300, reconnect: { initialMs: 60_000, maxMs: 60_000 } });
    a.on('error', (e) => errors.push(e));
    a.start();
    await bed.peer.waitForMessages(1);
    expect(errors[0]).toMatchObject({ kind: 'http_status', status: 429, retryAfterMs: 300 });
  });

  it('backs off with full jitter after transport failures (injected rng)', async () => {
    const url = bed.peer.wsUrl;
    await bed.peer.stop();
    const draws: number[] = [];
    const a = agent({ endpoint: url, reconnect: { initialMs: 10, maxMs: 40 }, rng: () => (draws.push(1), 0.5) });
    const errors: AgentError[] = [];
    a.on('error', (e) => errors.push(e));
    a.start();
    await waitFor(() => a.errorsByKind.transport ?? 0, (n) => n >= 4, WAIT);
    expect(errors.every((e) => e.kind === 'transport')).toBe(true);
    expect(draws.length).toBeGreaterThanOrEqual(3);
    a.kill();
    await bed.restartPeer();
  });

  it('error_response UNAVAILABLE: closes and reconnects after retry_info', async () => {
    const a = agent({ reconnect: { initialMs: 60_000, maxMs: 60_000 } });
    const errors: AgentError[] = [];
    a.on('error', (e) => errors.push(e));
    bed.peer.reply = (r) =>
      r.connection === 1
        ? { instanceUid: r.message.instanceUid, errorResponse: { type: ServerErrorResponseType.ServerErrorResponseType_Unavailable, retryInfo: { retryAfterNanoseconds: 200e6 } } }
        : ack(r);
    a.start();
    const list = await bed.peer.waitForMessages(2);
    expect(list[1].connection).toBe(2);
    expect(list[1].at - list[0].at).toBeGreaterThanOrEqual(180);
    expect(errors[0]).toMatchObject({ kind: 'unavailable', retryAfterMs: 200 });
    expect(isFull(list[1])).toBe(true);
  });

  it('error_response BAD_REQUEST: counted, the message is not resent', async () => {
    const a = agent();
    bed.peer.reply = (r) => ({ instanceUid: r.message.instanceUid, errorResponse: { type: ServerErrorResponseType.ServerErrorResponseType_BadRequest, errorMessage: 'nope' } });
    a.start();
    await waitFor(() => a.errorsByKind.bad_request ?? 0, (n) => n === 1, WAIT);
    a.setHealth({ healthy: false });
    const list = await bed.peer.waitForMessages(2);
    expect(list[1].message.sequenceNum).toBe(1);
    expect(list[1].message.agentDescription).toBeFalsy();
    expect(list[1].message.health?.healthy).toBe(false);
    expect(bed.peer.wsConnections).toBe(1);
  });

  it('ignores (and counts) a ServerToAgent with another instance_uid', async () => {
    const a = agent();
    const seen: unknown[] = [];
    a.on('serverMessage', (m) => seen.push(m));
    a.start();
    await waitFor(() => a.receivedCount, (n) => n === 1, WAIT);
    const other = newInstanceUidV7();
    const config = configMap('x');
    bed.peer.push({ instanceUid: other, remoteConfig: { config, configHash: configHash(config) } });
    await waitFor(() => a.errorsByKind.uid_mismatch ?? 0, (n) => n === 1, WAIT);
    expect(seen).toHaveLength(1);
    expect(a.received).toHaveLength(1);
    expect(a.receivedCount).toBe(2);
    expect(a.remoteConfigStatus.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_UNSET);
  });

  it('adopts a 16-byte new_instance_uid and rejects other lengths', async () => {
    const a = agent();
    const oldUid = Buffer.from(a.instanceUid);
    const newUid = newInstanceUidV7();
    a.start();
    await bed.peer.waitForMessages(1);
    bed.peer.push({ instanceUid: oldUid, agentIdentification: { newInstanceUid: Buffer.alloc(26, 0x41) } });
    await waitFor(() => a.errorsByKind.invalid_new_uid ?? 0, (n) => n === 1, WAIT);
    expect(a.instanceUid.equals(oldUid)).toBe(true);
    bed.peer.push({ instanceUid: oldUid, agentIdentification: { newInstanceUid: newUid } });
    await waitFor(() => a.instanceUid, (u) => u.equals(newUid), WAIT);
    a.setHealth({ healthy: true, status: 'x' });
    const list = await bed.peer.waitForMessages(2);
    expect(uidOf(list[1]).equals(newUid)).toBe(true);
  });

  it('custom messages: received only for declared capabilities, sent with sendCustomMessage', async () => {
    const a = agent({ customCapabilities: ['io.example.echo/v1'] });
    const got: string[] = [];
    a.on('customMessage', (m) => got.push(`${m.capability}:${m.type}:${Buffer.from(m.data).toString()}`));
    a.start();
    await bed.peer.waitForMessages(1);
    bed.peer.push({ instanceUid: a.instanceUid, customMessage: { capability: 'io.example.other', type: 't', data: Buffer.from('no') } });
    bed.peer.push({ instanceUid: a.instanceUid, customMessage: { capability: 'io.example.echo/v1', type: 'ping', data: Buffer.from('yes') } });
    await waitFor(() => got.length, (n) => n >= 1, WAIT);
    expect(got).toEqual(['io.example.echo/v1:ping:yes']);
    expect(() => a.sendCustomMessage('io.example.other', 't', Buffer.alloc(0))).toThrow(/not declared/);
    a.sendCustomMessage('io.example.echo/v1', 'pong', Buffer.from('1'));
    a.sendCustomMessage('io.example.echo/v1', 'pong', Buffer.from('2'));
    const list = await bed.peer.waitForMessages(3);
    expect(list.slice(1).map((r) => Buffer.from(r.message.customMessage!.data!).toString())).toEqual(['1', '2']);
  });

  it('counts undecodable frames (text, bad header) as decode errors and keeps going', async () => {
    const a = agent();
    a.start();
    await waitFor(() => a.receivedCount, (n) => n === 1, WAIT);
    bed.peer.pushRaw('text frame');
    bed.peer.pushRaw(Buffer.from([0x05, 0x01]));
    bed.peer.pushRaw(Buffer.from([0x00, 0xff, 0xff]));
    await waitFor(() => a.errorsByKind.decode ?? 0, (n) => n === 3, WAIT);
    expect(a.connected).toBe(true);
  });

  it('stop() sends agent_disconnect then closes; kill() sends nothing', async () => {
    const a = agent();
    const b = agent();
    a.start();
    b.start();
    await bed.peer.waitForMessages(2);
    await waitFor(() => a.connected && b.connected, Boolean, WAIT);
    const events: string[] = [];
    a.on('disconnected', () => events.push('a'));
    await a.stop();
    expect(events).toEqual(['a']);
    expect(a.connected).toBe(false);
    const list = await bed.peer.waitForMessages(3);
    expect(list[2].message.agentDisconnect).toBeTruthy();
    expect(uidOf(list[2]).equals(a.instanceUid)).toBe(true);
    b.kill();
    await waitFor(() => bed.peer.openSockets, (n) => n === 0, WAIT);
    expect(bed.peer.messages((r) => !!r.message.agentDisconnect)).toHaveLength(1);
  });

  it('connects from the given source address', async () => {
    agent({ localAddress: '127.0.0.2' }).start();
    const [first] = await bed.peer.waitForMessages(1);
    expect(first.remoteAddress).toBe('127.0.0.2');
  });

  it('binds explicit source ports from the address pool and skips a port that is taken', async () => {
    const address = '127.0.0.3';
    const pool = sourcePortPool(address);
    const successor = (p: number) => (p === 32767 ? 61000 : p === 65535 ? 1024 : p + 1);
    const taken = successor(pool.next());
    // Hold the pool's next port on that address, so the agent's first bind fails with EADDRINUSE.
    const blocker = net.createServer();
    await new Promise<void>((resolve, reject) => blocker.once('error', reject).listen(taken, address, () => resolve()));
    try {
      const errors: AgentError[] = [];
      const a = agent({ localAddress: address });
      a.on('error', (e: AgentError) => errors.push(e));
      a.start();
      const [first] = await bed.peer.waitForMessages(1);
      expect(first.remoteAddress).toBe(address);
      expect(first.remotePort).not.toBe(taken);
      expect(first.remotePort).toBe(successor(taken));
      expect(errors).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
