import { AgentInboundCodec, EnvelopeDecodeError, GatewayPushCodec } from './envelope-codec';
import { fleet } from './fleet-schema';

describe('envelope codecs', () => {
  it('round-trips an AgentInbound carrying raw AgentToServer bytes', () => {
    const raw = Buffer.from([0x0a, 0x10, ...Array(16).fill(7)]);
    const bytes = AgentInboundCodec.encode({
      tenantId: 't1',
      gatewayId: 'gw-a',
      connectionId: 'c-1',
      epoch: 42,
      transport: fleet.v1.Transport.TRANSPORT_WEBSOCKET,
      receivedAtUnixMs: 1_767_000_000_123,
      agentToServer: raw,
    });
    const back = AgentInboundCodec.decode(bytes);
    expect(back.tenantId).toBe('t1');
    expect(back.epoch).toBe(42);
    expect(typeof back.epoch).toBe('number');
    expect(back.receivedAtUnixMs).toBe(1_767_000_000_123);
    expect(back.event).toBe('agentToServer');
    expect(Buffer.from(back.agentToServer!)).toEqual(raw);
  });

  it('decodes 64-bit fields as numbers, not Long objects', () => {
    const bytes = GatewayPushCodec.encode({ epoch: 2 ** 40 + 3, connectionId: 'x' });
    expect(GatewayPushCodec.decode(bytes).epoch).toBe(2 ** 40 + 3);
  });

  it('keeps the oneof exclusive: a disconnect envelope has no AgentToServer bytes', () => {
    const bytes = AgentInboundCodec.encode({
      connectionId: 'c',
      disconnected: { reason: fleet.v1.DisconnectReason.DISCONNECT_REASON_TRANSPORT_CLOSED },
    });
    const back = AgentInboundCodec.decode(bytes);
    expect(back.event).toBe('disconnected');
    expect(back.disconnected?.reason).toBe(fleet.v1.DisconnectReason.DISCONNECT_REASON_TRANSPORT_CLOSED);
  });

  it('throws a typed error on garbage', () => {
    expect(() => AgentInboundCodec.decode(Buffer.from([0x0a, 0xff, 0xff, 0xff]))).toThrow(EnvelopeDecodeError);
  });
});
