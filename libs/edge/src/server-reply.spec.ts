import { ServerCapabilities, SERVER_CAPABILITIES_MASK } from '@opamp/protocol';
import { ackReply, composeHttpReply, itemsToHold, SERVER_CAPABILITIES, serverCapabilitiesOf } from './server-reply';

const uid = Buffer.alloc(16, 7);

describe('ackReply', () => {
  it('carries only the uid, plus capabilities when asked', () => {
    expect(ackReply(uid, false)).toEqual({ instanceUid: uid });
    const first = ackReply(uid, true);
    expect(first.capabilities! & ServerCapabilities.AcceptsStatus).toBeTruthy();
    expect(first.capabilities! & ~SERVER_CAPABILITIES_MASK).toBe(0);
    expect(SERVER_CAPABILITIES).toBe(0x3f);
  });

  it('advertises AcceptsConnectionSettingsRequest (0x40) only where certificates are issued', () => {
    expect(ackReply(uid, true).capabilities! & ServerCapabilities.AcceptsConnectionSettingsRequest).toBe(0);
    expect(serverCapabilitiesOf(false)).toBe(0x3f);
    expect(ackReply(uid, true, serverCapabilitiesOf(true)).capabilities).toBe(0x7f);
    expect(composeHttpReply(uid, [], serverCapabilitiesOf(true)).reply.capabilities).toBe(0x7f);
  });
});

describe('composeHttpReply', () => {
  const config = { kind: 'remote_config', message: { remoteConfig: { configHash: Buffer.from([1]) } } };
  const flags = { kind: 'flags', message: { flags: 1 } };
  const ident = { kind: 'agent_identification', message: { agentIdentification: { newInstanceUid: Buffer.alloc(16, 9) }, flags: 2 } };
  const restart = { kind: 'command', message: { command: { type: 0 } } };

  it('merges different kinds into one reply and ORs flags', () => {
    const { reply, leftovers } = composeHttpReply(uid, [config, flags, ident]);
    expect(leftovers).toEqual([]);
    expect(reply.instanceUid).toBe(uid);
    expect(reply.capabilities).toBe(SERVER_CAPABILITIES);
    expect(reply.remoteConfig).toBe(config.message.remoteConfig);
    expect(reply.agentIdentification).toBe(ident.message.agentIdentification);
    expect(reply.flags).toBe(3);
  });

  it('sends a command alone and keeps the rest for the next request', () => {
    const { reply, leftovers } = composeHttpReply(uid, [config, restart, flags]);
    expect(Object.keys(reply).sort()).toEqual(['capabilities', 'command', 'instanceUid']);
    expect(leftovers).toEqual([config, flags]);
  });

  it('keeps the second of two items that set the same field', () => {
    const other = { kind: 'remote_config_2', message: { remoteConfig: { configHash: Buffer.from([2]) } } };
    const { reply, leftovers } = composeHttpReply(uid, [config, other]);
    expect(reply.remoteConfig).toBe(config.message.remoteConfig);
    expect(leftovers).toEqual([other]);
  });

  it('is a plain acknowledgement when nothing is pending', () => {
    expect(composeHttpReply(uid, [])).toEqual({ reply: { instanceUid: uid, capabilities: SERVER_CAPABILITIES }, leftovers: [] });
  });
});

describe('itemsToHold', () => {
  const config = { kind: 'remote_config', message: { instanceUid: uid, remoteConfig: { configHash: Buffer.from([1]) } } };
  const offer = { kind: 'connection_settings', message: { instanceUid: uid, connectionSettings: { hash: Buffer.alloc(32) } } };
  const direct = { kind: 'direct', message: { instanceUid: uid, customMessage: { capability: 'c', type: 't' } } };

  it('holds what a reply carrying an offer delivered, but not the offer (decided again on the new credential)', () => {
    expect(itemsToHold([config, offer, direct], false)).toEqual([config, { kind: 'custom_message', message: direct.message }]);
  });
  it('holds what replies deliver while a switch is under way, and nothing otherwise', () => {
    expect(itemsToHold([config], true)).toEqual([config]);
    expect(itemsToHold([config, direct], false)).toEqual([]);
  });
});
