import { decodeServerToAgent } from '@opamp/protocol';
import { AgentPushRouter } from './agent-push.router';
import { GatewayPushCodec } from './envelope-codec';
import { fleet } from './fleet-schema';

function recorder() {
  const published: Array<{ gatewayId: string; push: fleet.v1.GatewayPush }> = [];
  const pending: Array<{ tenantId: string; hex: string; kind: string; bytes: Buffer }> = [];
  const router = new AgentPushRouter(
    { publish: async (gatewayId, payload) => (published.push({ gatewayId, push: GatewayPushCodec.decode(payload) }), 1) },
    { put: async (tenantId, hex, kind, bytes) => void pending.push({ tenantId, hex, kind, bytes }) },
  );
  return { router, published, pending };
}

const uid = Buffer.alloc(16, 3);
const ws = { connected: true, gatewayId: 'gw-1', connectionId: 'c-1', epoch: 4, transport: fleet.v1.Transport.TRANSPORT_WEBSOCKET };
const http = { ...ws, transport: fleet.v1.Transport.TRANSPORT_HTTP };

describe('AgentPushRouter', () => {
  it('publishes one fenced message to a WebSocket agent, merging items and OR-ing flags', async () => {
    const { router, published, pending } = recorder();
    const delivery = await router.deliver('t', uid, uid, ws, [
      { kind: 'flags', message: { flags: 1 } },
      { kind: 'agent_identification', message: { agentIdentification: { newInstanceUid: Buffer.alloc(16, 9) }, flags: 2 } },
    ]);
    expect(delivery).toBe('published');
    expect(pending).toEqual([]);
    expect(published).toHaveLength(1);
    const { gatewayId, push } = published[0];
    expect(gatewayId).toBe('gw-1');
    expect([push.tenantId, push.connectionId, push.epoch]).toEqual(['t', 'c-1', 4]);
    const msg = decodeServerToAgent(push.serverToAgent);
    expect(msg.flags).toBe(3);
    expect(Buffer.from(msg.instanceUid)).toEqual(uid);
    expect(Buffer.from(msg.agentIdentification!.newInstanceUid!)).toEqual(Buffer.alloc(16, 9));
  });

  it('sends a command alone, never bundled with other fields', async () => {
    const { router, published } = recorder();
    await router.deliver('t', uid, uid, ws, [
      { kind: 'command', message: { command: { type: 0 } } },
      { kind: 'remote_config', message: { remoteConfig: { configHash: Buffer.from([1]) } } },
    ]);
    const messages = published.map((p) => decodeServerToAgent(p.push.serverToAgent));
    expect(messages).toHaveLength(2);
    expect(messages[0].command).not.toBeNull();
    expect(messages[0].remoteConfig).toBeNull();
    expect(messages[1].command).toBeNull();
  });

  it('leaves items in the pending store for an HTTP agent and wakes its gateway', async () => {
    const { router, published, pending } = recorder();
    const sent = Buffer.from('raw-uid-as-sent!');
    expect(await router.deliver('t', uid, sent, http, [{ kind: 'remote_config', message: { remoteConfig: { configHash: Buffer.from([1]) } } }])).toBe(
      'pending',
    );
    expect(pending.map((p) => [p.tenantId, p.hex, p.kind])).toEqual([['t', uid.toString('hex'), 'remote_config']]);
    expect(Buffer.from(decodeServerToAgent(pending[0].bytes).instanceUid)).toEqual(sent);
    expect(published).toHaveLength(1);
    expect(published[0].push.pendingWakeup).toBe(true);
    expect(published[0].push.serverToAgent).toHaveLength(0);
  });

  it('keeps items pending, without a wake-up, for an agent with no known gateway', async () => {
    const { router, published, pending } = recorder();
    await router.deliver('t', uid, uid, { connected: false, gatewayId: null, connectionId: '', epoch: 0, transport: 0 }, [
      { kind: 'command', message: { command: {} } },
    ]);
    expect(pending).toHaveLength(1);
    expect(published).toEqual([]);
  });
});
