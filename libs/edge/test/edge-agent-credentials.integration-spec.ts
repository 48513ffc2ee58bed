/**
 * Which agents a credential speaks for, at the edge, over both transports
 * (real Kafka and Redis): an agent's own credential only for its own
 * instance_uid (or one the server assigned on that connection), an enrollment
 * token not for an agent that holds its own, nor, where the tenant requires
 * per-agent credentials, for an agent that cannot take one; every refusal is a
 * BAD_REQUEST, a closed connection, a counted rejection and a `refused`
 * record on the agent's stream (for the audit log), and nothing of the
 * message reaches the bus.
 */
import { fleet, GatewayPushCodec, RedisChannels } from '@opamp/contracts';
import {
  AgentCapabilities,
  decodeServerToAgent,
  decodeWsMessage,
  encodeAgentToServer,
  encodeAgentToServerFrame,
  encodeServerToAgent,
  newInstanceUidV7,
  opamp,
} from '@opamp/protocol';
import { PendingPushStore } from '@opamp/bus-redis';
import { waitFor } from '@opamp/testing';
import { agentTokenDigest } from '../src';
import { EdgeHarness, TENANT, TOKEN } from './edge-harness';

const v1 = opamp.proto.v1;
const R = fleet.v1.RefusalReason;
const BASIC = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsRemoteConfig;
const ACCEPTS_SETTINGS = BASIC | AgentCapabilities.AcceptsOpAMPConnectionSettings;
const reply = (frame: Buffer) => decodeServerToAgent(decodeWsMessage(frame));
const frame = (uid: Buffer, seq: number, capabilities = BASIC) => encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: seq, capabilities });

describe('per-agent credentials at the edge (real Kafka and Redis)', () => {
  const h = new EdgeHarness();
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  /** Gives `uid` a credential of its own (active: the agent was seen with it) and returns its secret. */
  function ownCredential(uid: Buffer, active = true, id = `cred-${uid.toString('hex').slice(0, 8)}`): string {
    const secret = `own-secret-${uid.toString('hex')}-${id}`;
    h.authority.putEntry({ digest: agentTokenDigest(secret), tenantId: TENANT, tokenId: id, kind: 'agent', uidHex: uid.toString('hex'), active });
    return secret;
  }

  async function rejections(reason: string): Promise<number> {
    return (await h.edge.metrics.rejections.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  }

  async function post(token: string, uid: Buffer, capabilities = BASIC) {
    const res = await fetch(h.httpUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-protobuf' },
      body: encodeAgentToServer({ instanceUid: uid, sequenceNum: 0, capabilities }),
    });
    return { status: res.status, connection: res.headers.get('connection'), message: decodeServerToAgent(Buffer.from(await res.arrayBuffer())) };
  }

  it('tags what an agent sends with the credential it connected with (id and kind, never the secret)', async () => {
    const uid = newInstanceUidV7();
    const secret = ownCredential(uid);
    const socket = await h.connect({ Authorization: `Bearer ${secret}` });
    socket.send(frame(uid, 0));
    await socket.nextMessages(1);
    const records = await h.waitForRecords(uid, 2);
    for (const r of records) {
      expect(r.envelope.credentialId).toBe(`cred-${uid.toString('hex').slice(0, 8)}`);
      expect(r.envelope.credentialKind).toBe(fleet.v1.CredentialKind.CREDENTIAL_KIND_AGENT);
    }
    expect(JSON.stringify(records.map((r) => fleet.v1.AgentInbound.toObject(r.envelope)))).not.toContain(secret);
    socket.ws.close();

    const viaToken = newInstanceUidV7();
    const s2 = await h.connect();
    s2.send(frame(viaToken, 0));
    const [connected] = await h.waitForRecords(viaToken, 1);
    expect(connected.envelope.credentialId).toBe('enrollment-1');
    expect(connected.envelope.credentialKind).toBe(fleet.v1.CredentialKind.CREDENTIAL_KIND_ENROLLMENT);
    s2.ws.close();
  });

  it('refuses a stolen per-agent credential for another instance_uid over WebSocket', async () => {
    const owner = newInstanceUidV7();
    const thief = newInstanceUidV7();
    const stolen = ownCredential(owner);
    const before = await rejections('credential_of_another_agent');
    const socket = await h.connect({ Authorization: `Bearer ${stolen}` });
    socket.send(frame(thief, 0));
    const [refusal] = await socket.nextMessages(1);
    expect(reply(refusal).errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest);
    expect(reply(refusal).errorResponse?.errorMessage).toMatch(/belongs to another agent/);
    expect(await socket.closed()).toBe(1008);
    const [refused] = await h.waitForRecords(thief, 1);
    expect(refused.envelope.refused?.reason).toBe(R.REFUSAL_REASON_CREDENTIAL_OF_ANOTHER_AGENT);
    expect(h.recordsFor(thief).some((r) => r.envelope.event !== 'refused')).toBe(false);
    expect(await rejections('credential_of_another_agent')).toBe(before + 1);
  });

  it('refuses a stolen per-agent credential for another instance_uid over plain HTTP, and closes the connection', async () => {
    const owner = newInstanceUidV7();
    const thief = newInstanceUidV7();
    const stolen = ownCredential(owner);
    const res = await post(stolen, thief);
    expect(res.message.errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest);
    expect(res.connection).toBe('close');
    const [refused] = await h.waitForRecords(thief, 1);
    expect(refused.envelope.refused?.reason).toBe(R.REFUSAL_REASON_CREDENTIAL_OF_ANOTHER_AGENT);
    // The owner itself is served with it.
    const ok = await post(stolen, owner);
    expect(ok.message.errorResponse).toBeFalsy();
  });

  it('a plain-HTTP agent switching credentials gets again on its new credential what the reply carrying the offer delivered (its old client may drop it)', async () => {
    const uid = newInstanceUidV7();
    const uidHex = uid.toString('hex');
    const secret = ownCredential(uid, false, 'switch-1');
    const pending = new PendingPushStore(h.redis);
    const config = encodeServerToAgent({ instanceUid: uid, remoteConfig: { configHash: Buffer.from([7]), config: { configMap: {} } } });
    const offer = encodeServerToAgent({ instanceUid: uid, connectionSettings: { hash: Buffer.alloc(32, 1), opamp: { destinationEndpoint: h.httpUrl } } });
    await pending.put(TENANT, uidHex, 'remote_config', config);
    await pending.put(TENANT, uidHex, 'connection_settings', offer);
    // The poll on the enrollment token takes both; its client stops on the offer and drops the reply.
    const dropped = await post(TOKEN, uid, ACCEPTS_SETTINGS);
    expect(dropped.message.connectionSettings?.hash).toHaveLength(32);
    expect(dropped.message.remoteConfig?.configHash).toEqual(Buffer.from([7]));
    // Another poll on the old credential meanwhile keeps it held; the first poll on the new one gets it.
    expect((await post(TOKEN, uid, ACCEPTS_SETTINGS)).message.remoteConfig).toBeFalsy();
    const next = await post(secret, uid, ACCEPTS_SETTINGS);
    expect(next.message.remoteConfig?.configHash).toEqual(Buffer.from([7]));
    expect(next.message.connectionSettings).toBeFalsy();
    // Once.
    expect((await post(secret, uid, ACCEPTS_SETTINGS)).message.remoteConfig).toBeFalsy();
  });

  it('no longer lets the enrollment token speak for an agent once it uses its own credential', async () => {
    const uid = newInstanceUidV7();
    // Offered but not yet used: the enrollment token still works (the agent may not have switched yet).
    ownCredential(uid, false, 'offered-1');
    const first = await post(TOKEN, uid);
    expect(first.message.errorResponse).toBeFalsy();
    // Seen with it: the token is refused for this uid, over both transports.
    ownCredential(uid, true, 'offered-1');
    const res = await post(TOKEN, uid);
    expect(res.message.errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest);
    expect(res.message.errorResponse?.errorMessage).toMatch(/holds a credential of its own/);
    const socket = await h.connect();
    socket.send(frame(uid, 1));
    await socket.nextMessages(1);
    expect(await socket.closed()).toBe(1008);
    const refusals = await waitFor(() => h.recordsFor(uid).filter((r) => r.envelope.refused), (r) => r.length === 2, { description: 'two refusals' });
    expect(refusals.map((r) => r.envelope.refused?.reason)).toEqual([R.REFUSAL_REASON_AGENT_HAS_OWN_CREDENTIAL, R.REFUSAL_REASON_AGENT_HAS_OWN_CREDENTIAL]);
  });

  it('where the tenant requires per-agent credentials, admits on the enrollment token only agents that can take one', async () => {
    h.authority.setPolicy(TENANT, true);
    try {
      const cannot = newInstanceUidV7();
      const res = await post(TOKEN, cannot, BASIC);
      expect(res.message.errorResponse?.errorMessage).toMatch(/requires per-agent credentials/);
      const [refused] = await h.waitForRecords(cannot, 1);
      expect(refused.envelope.refused?.reason).toBe(R.REFUSAL_REASON_AGENT_CREDENTIAL_REQUIRED);
      const can = newInstanceUidV7();
      expect((await post(TOKEN, can, ACCEPTS_SETTINGS)).message.errorResponse).toBeFalsy();
    } finally {
      h.authority.setPolicy(TENANT, false);
    }
  });

  it('lets the credential speak for a new instance_uid the server assigned on that connection', async () => {
    const uid = newInstanceUidV7();
    const secret = ownCredential(uid);
    const socket = await h.connect({ Authorization: `Bearer ${secret}` });
    socket.send(frame(uid, 0));
    await socket.nextMessages(1);
    const [connected] = await h.waitForRecords(uid, 2);
    const assigned = newInstanceUidV7();
    await h.redis.publish(
      RedisChannels.gatewayPush(h.gatewayId),
      GatewayPushCodec.encode({
        tenantId: TENANT,
        instanceUid: uid,
        connectionId: connected.envelope.connectionId,
        epoch: connected.envelope.epoch,
        serverToAgent: encodeServerToAgent({ instanceUid: uid, agentIdentification: { newInstanceUid: assigned } }),
      }),
    );
    await socket.nextMessages(2);
    socket.send(frame(assigned, 1));
    await socket.nextMessages(3);
    const records = await h.waitForRecords(assigned, 2);
    expect(records.some((r) => r.envelope.event === 'agentToServer')).toBe(true);
    expect(socket.closeCode).toBeNull();
    socket.ws.close();
  });

  it('refuses an expired enrollment token with 401', async () => {
    const expired = 'expired-enrollment-token';
    h.authority.putEntry({ digest: agentTokenDigest(expired), tenantId: TENANT, tokenId: 'old', expiresAtMs: Date.now() - 1 });
    const res = await fetch(h.httpUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${expired}`, 'Content-Type': 'application/x-protobuf' },
      body: encodeAgentToServer({ instanceUid: newInstanceUidV7(), sequenceNum: 0, capabilities: BASIC }),
    });
    expect(res.status).toBe(401);
    await expect(h.connect({ Authorization: `Bearer ${expired}` })).rejects.toThrow(/401/);
  });
});
