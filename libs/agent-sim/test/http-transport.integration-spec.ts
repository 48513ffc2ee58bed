import {
  instanceUidToString,
  RemoteConfigStatuses,
  ServerErrorResponseType,
  ServerToAgentFlags,
} from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import type { AgentError } from '../src';
import { ack, type Received } from './opamp-test-peer';
import { isFull, offer, useTransportTestBed, WAIT } from './transport-test-bed';

const bed = useTransportTestBed({ endpoint: (peer) => peer.httpUrl, description: { identifying: { 'service.name': 'otelcol' } } });
const { agent } = bed;

describe('SimulatedAgent over plain HTTP', () => {
  it('POSTs the full state first with protobuf, uid header and Accept-Encoding, and reads gzip replies', async () => {
    const a = agent({ headers: { Authorization: 'Bearer x' } });
    expect(a.transport).toBe('http');
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    expect(first.headers['content-type']).toBe('application/x-protobuf');
    expect(first.headers['opamp-instance-uid']).toBe(instanceUidToString(a.instanceUid));
    expect(first.headers['accept-encoding']).toBe('gzip');
    expect(first.headers['content-encoding']).toBeUndefined();
    expect(first.headers.authorization).toBe('Bearer x');
    expect(first.message.sequenceNum).toBe(0);
    expect(isFull(first)).toBe(true);
    // The peer gzips its reply because the request accepted gzip; the agent must have decoded it.
    await waitFor(() => a.receivedCount, (n) => n === 1, WAIT);
    expect(a.connected).toBe(true);
    expect(a.errorsByKind).toEqual({});
  });

  it('gzips request bodies when asked, and can leave out the optional headers', async () => {
    const a = agent({ gzipRequests: true, acceptGzip: false, sendInstanceUidHeader: false });
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    expect(first.headers['content-encoding']).toBe('gzip');
    expect(first.headers['accept-encoding']).toBeUndefined();
    expect(first.headers['opamp-instance-uid']).toBeUndefined();
    expect(isFull(first)).toBe(true);
    await waitFor(() => a.receivedCount, (n) => n === 1, WAIT);
  });

  it('polls every heartbeat interval with uid+seq+caps', async () => {
    const a = agent({ heartbeatIntervalMs: 60 });
    a.start();
    const list = await bed.peer.waitForMessages(3);
    expect(list.map((r) => r.message.sequenceNum)).toEqual([0, 1, 2]);
    for (const poll of list.slice(1)) {
      expect(Object.keys(poll.message.toJSON()).sort()).toEqual(['capabilities', 'instanceUid', 'sequenceNum']);
    }
    expect(list[2].at - list[1].at).toBeGreaterThanOrEqual(50);
  });

  it('keeps one request at a time and sends a state change right after the response', async () => {
    bed.peer.holdHttp = true;
    const a = agent();
    a.start();
    await waitFor(() => bed.peer.heldRequests, (n) => n === 1, WAIT);
    a.setHealth({ healthy: false, lastError: 'disk full' });
    // One turn of the event loop: the change is flushed, but no second request may start.
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.sent).toBe(1);
    expect(bed.peer.httpRequests).toBe(1);
    bed.peer.releaseHttp();
    const list = await bed.peer.waitForMessages(2);
    expect(isFull(list[0])).toBe(true);
    expect(list[1].message.health).toMatchObject({ healthy: false, lastError: 'disk full' });
    expect(list[1].message.agentDescription).toBeFalsy();
    expect(bed.peer.maxConcurrentHttp).toBe(1);
  });

  it('honours Retry-After on 503 and resends the refused state', async () => {
    let refusals = 1;
    bed.peer.refuseHttp = () => (refusals-- > 0 ? { status: 503, headers: { 'Retry-After': '1' } } : undefined);
    const errors: AgentError[] = [];
    const a = agent({ reconnect: { initialMs: 60_000, maxMs: 60_000 } });
    a.on('error', (e) => errors.push(e));
    const started = Date.now();
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    expect(first.at - started).toBeGreaterThanOrEqual(950);
    expect(isFull(first)).toBe(true);
    expect(first.message.sequenceNum).toBe(1);
    expect(errors[0]).toMatchObject({ kind: 'http_status', status: 503, retryAfterMs: 1000 });
  });

  it('honours an HTTP-date Retry-After on 429', async () => {
    let refusals = 1;
    const errors: AgentError[] = [];
    bed.peer.refuseHttp = () =>
      refusals-- > 0 ? { status: 429, headers: { 'Retry-After': new Date(Date.now() + 2000).toUTCString() } } : undefined;
    const a = agent({ reconnect: { initialMs: 60_000, maxMs: 60_000 } });
    a.on('error', (e) => errors.push(e));
    a.start();
    await bed.peer.waitForMessages(1);
    // toUTCString() drops milliseconds, so the delay is within (1000, 2000].
    expect(errors[0].retryAfterMs).toBeGreaterThan(900);
    expect(errors[0].retryAfterMs).toBeLessThanOrEqual(2000);
  });

  it('backs off after a non-throttling status and drops the refused message (4xx)', async () => {
    let refusals = 1;
    bed.peer.refuseHttp = () => (refusals-- > 0 ? { status: 401 } : undefined);
    const a = agent({ rng: () => 0 });
    a.start();
    const [first] = await bed.peer.waitForMessages(1);
    expect(a.errorsByKind.http_status).toBe(1);
    expect(first.message.sequenceNum).toBe(1);
    expect(first.message.agentDescription).toBeFalsy();
  });

  it('applies remote config: APPLYING goes out at once, then APPLIED', async () => {
    const a = agent({ applyConfig: { delayMs: 50 } });
    bed.peer.reply = (r) => (r.message.sequenceNum === 0 ? offer(r, 'processors: {}') : ack(r));
    a.start();
    const list = await bed.peer.waitForMessages(3);
    expect(list[1].message.remoteConfigStatus?.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_APPLYING);
    expect(list[2].message.remoteConfigStatus?.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_APPLIED);
    expect(Buffer.from(list[2].message.effectiveConfig!.configMap!.configMap![''].body!).toString()).toBe('processors: {}');
  });

  it('restart: sends agent_disconnect, then starts over at seq 0 with the full state', async () => {
    const a = agent();
    let restarts = 0;
    a.on('restart', () => restarts++);
    bed.peer.reply = (r) => (r.message.sequenceNum === 0 && restarts === 0 ? { instanceUid: r.message.instanceUid, command: {} } : ack(r));
    a.start();
    const list = await bed.peer.waitForMessages(3);
    expect(restarts).toBe(1);
    expect(list[1].message.agentDisconnect).toBeTruthy();
    expect(list[1].message.sequenceNum).toBe(1);
    expect(list[2].message.sequenceNum).toBe(0);
    expect(isFull(list[2])).toBe(true);
  });

  it('ReportFullState: the next request carries the full state', async () => {
    const a = agent();
    bed.peer.reply = (r) => (r.message.sequenceNum === 0 ? { instanceUid: r.message.instanceUid, flags: ServerToAgentFlags.ReportFullState } : ack(r));
    a.start();
    const list = await bed.peer.waitForMessages(2);
    expect(isFull(list[1])).toBe(true);
    expect(list[1].message.sequenceNum).toBe(1);
    await waitFor(() => a.receivedCount, (n) => n === 2, WAIT);
    expect(bed.peer.received).toHaveLength(2);
  });

  it('error_response UNAVAILABLE: waits retry_info, then resends', async () => {
    const a = agent({ reconnect: { initialMs: 60_000, maxMs: 60_000 } });
    bed.peer.reply = (r) =>
      r.message.sequenceNum === 0
        ? { instanceUid: r.message.instanceUid, errorResponse: { type: ServerErrorResponseType.ServerErrorResponseType_Unavailable, retryInfo: { retryAfterNanoseconds: 150e6 } } }
        : ack(r);
    a.start();
    const list = await bed.peer.waitForMessages(2);
    expect(list[1].at - list[0].at).toBeGreaterThanOrEqual(140);
    expect(isFull(list[1])).toBe(true);
    expect(a.errorsByKind.unavailable).toBe(1);
  });

  it('counts an undecodable response body as decode', async () => {
    bed.peer.rawHttpBody = Buffer.from([0x0a, 0xff, 0xff, 0xff]);
    const a = agent({ heartbeatIntervalMs: 50 });
    a.start();
    await waitFor(() => a.errorsByKind.decode ?? 0, (n) => n >= 1, WAIT);
  });

  it('stop() sends agent_disconnect and stops polling', async () => {
    const a = agent({ heartbeatIntervalMs: 40 });
    const control = agent({ heartbeatIntervalMs: 40 });
    a.start();
    await bed.peer.waitForMessages(2);
    await a.stop();
    const mine = (r: Received): boolean => Buffer.from(r.message.instanceUid).equals(a.instanceUid);
    const count = bed.peer.messages(mine).length;
    expect(bed.peer.messages(mine)[count - 1].message.agentDisconnect).toBeTruthy();
    expect(a.connected).toBe(false);
    // While a control agent polls three times, the stopped one sends nothing more.
    control.start();
    await bed.peer.waitForMessages(3, (r) => Buffer.from(r.message.instanceUid).equals(control.instanceUid));
    expect(bed.peer.messages(mine)).toHaveLength(count);
  });
});
