/**
 * OpAMP over plain HTTP: one POST, one ServerToAgent. The message is durable
 * on the bus before the reply; a message carrying status waits briefly for
 * the workers' answer; what is pending for the agent is merged into the reply.
 */
import type * as uWS from 'uWebSockets.js';
import { fleet } from '@opamp/contracts';
import {
  badRequestReply,
  decodeAgentToServer,
  decodeRequestBody,
  encodeResponseBody,
  encodeServerToAgent,
  httpStatusForError,
  isProtocolError,
  opamp,
  parseContentEncoding,
  unavailableReply,
} from '@opamp/protocol';
import type { AgentBindings } from './agent-bindings';
import { EDGE_DEFAULTS } from './edge-defaults';
import { claimVerdict, DUPLICATE_DETAIL } from './agent-claim';
import type { AgentCredential } from './agent-token.authority';
import type { EdgeAdmission, PresentedIdentity } from './edge-admission';
import { agentKey, type AgentBinding, type ConnectionContext, type EdgeLog, messageKind, newConnectionId, rejectionFor, text } from './edge-connection';
import type { EdgeMetrics } from './edge-metrics';
import { type EdgeDependencies, type EdgeOptions, OPAMP_PATH } from './edge-options';
import { composeHttpReply, decodePendingItem, itemsToHold, serverCapabilitiesOf, type PendingReplyItem } from './server-reply';
import { storableInbound } from './storable-inbound';

const PROTOBUF = 'application/x-protobuf';

interface Peer {
  clientIdentity: string;
  userAgent: string;
  remoteAddress: string;
}

export class PlainHttpTransport {
  constructor(
    private readonly options: EdgeOptions,
    private readonly deps: EdgeDependencies,
    private readonly admission: EdgeAdmission,
    private readonly bindings: AgentBindings,
    private readonly metrics: EdgeMetrics,
    private readonly log: EdgeLog,
  ) {}

  register(app: uWS.TemplatedApp): void {
    app.post(OPAMP_PATH, (res, req) => this.onPost(res, req));
  }

  /** A worker's push for a waiting request: carried in its reply, or a wake-up to read what is pending. */
  deliver(binding: AgentBinding, push: fleet.v1.GatewayPush): void {
    if (!push.pendingWakeup && push.serverToAgent.length > 0) {
      try {
        (binding.wakeItems ??= []).push(decodePendingItem('direct', push.serverToAgent));
      } catch {
        this.metrics.pushes.inc({ result: 'malformed' });
        return;
      }
    }
    this.metrics.pushes.inc({ result: 'wakeup' });
    binding.wake?.();
  }

  private onPost(res: uWS.HttpResponse, req: uWS.HttpRequest): void {
    const a = this.admission;
    // Headers are readable only now, before any await.
    const presented = a.presented(res, req);
    const first = a.evaluate(presented);
    // A credential not heard of yet: judged again once the shared directory was read (the body is read meanwhile).
    const rechecked = a.recheck(presented, first);
    const userAgent = req.getHeader('user-agent');
    const remoteAddress = text(res.getRemoteAddressAsText());
    const contentType = req.getHeader('content-type');
    const contentEncoding = req.getHeader('content-encoding');
    const acceptEncoding = req.getHeader('accept-encoding');
    let lengths = 0;
    req.forEach((name) => {
      if (name === 'content-length') lengths++;
    });
    if (lengths > 1) {
      // uWS frames the body by the first one; a proxy may take the other (request smuggling): answer and close.
      this.metrics.reject('ambiguous_http');
      res.writeStatus('400 Bad Request').writeHeader('Content-Type', 'text/plain').end('more than one Content-Length header\n', true);
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    if (!rechecked && !a.admits(res, first)) return;
    if (contentType.split(';')[0].trim().toLowerCase() !== PROTOBUF) {
      this.metrics.reject('unsupported_media_type');
      res
        .writeStatus('415 Unsupported Media Type')
        .writeHeader('Content-Type', 'text/plain')
        .end(`OpAMP over plain HTTP takes Content-Type: ${PROTOBUF}\n`);
      return;
    }
    if (a.draining) return a.refuseOverloaded(res, 'draining');
    if (a.saturated()) return a.refuseOverloaded(res, 'backlog');

    // A compressed body can only grow when inflated, so the raw body has the same limit.
    const limit = this.options.maxMessageBytes;
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (aborted || tooLarge) return;
      received += chunk.byteLength;
      if (received > limit) {
        tooLarge = true;
        this.metrics.reject('too_large');
        res.cork(() => {
          res.writeStatus('413 Content Too Large').writeHeader('Content-Type', 'text/plain').end('message too large\n', true);
        });
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) {
        const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received);
        const serve = (identity: PresentedIdentity) => {
          if (!a.admits(res, identity)) return;
          const peer = { clientIdentity: identity.clientIdentity, userAgent, remoteAddress };
          this.handleBody(res, identity.verdict.credential, peer, body, contentEncoding, acceptEncoding, () => aborted).catch((err: unknown) => {
            this.log('error', 'HTTP request failed', { error: String(err) });
            if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
          });
        };
        if (!rechecked) return serve(first);
        void rechecked.then((checked) => {
          if (!aborted) res.cork(() => serve(checked));
        });
      }
    });
  }

  private writeError(res: uWS.HttpResponse, status: number, message: string): void {
    const statusText: Record<number, string> = {
      400: '400 Bad Request',
      413: '413 Content Too Large',
      415: '415 Unsupported Media Type',
    };
    res.cork(() => {
      res
        .writeStatus(statusText[status] ?? '400 Bad Request')
        .writeHeader('Content-Type', 'text/plain')
        .end(`${message}\n`);
    });
  }

  private writeReply(res: uWS.HttpResponse, reply: opamp.proto.v1.IServerToAgent, acceptEncoding: string, kind: string, closeConnection = false): void {
    let bytes: Buffer;
    try {
      bytes = encodeServerToAgent(reply, { maxBytes: this.options.maxMessageBytes });
    } catch {
      // Outbound limit: send nothing oversized; record it (C21).
      this.metrics.pushes.inc({ result: 'too_large' });
      res.cork(() => res.writeStatus('500 Internal Server Error').end());
      return;
    }
    const { body, contentEncoding } = encodeResponseBody(bytes, acceptEncoding);
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('Content-Type', PROTOBUF);
      if (contentEncoding) res.writeHeader('Content-Encoding', contentEncoding);
      res.end(body, closeConnection);
    });
    this.metrics.messagesOut.inc({ transport: 'http', kind });
  }

  private async handleBody(
    res: uWS.HttpResponse,
    credential: AgentCredential,
    peer: Peer,
    body: Buffer,
    contentEncoding: string,
    acceptEncoding: string,
    isAborted: () => boolean,
  ): Promise<void> {
    let msg: opamp.proto.v1.AgentToServer;
    let raw: Buffer;
    try {
      raw = decodeRequestBody(body, parseContentEncoding(contentEncoding), this.options.maxMessageBytes);
      msg = decodeAgentToServer(raw, { maxBytes: this.options.maxMessageBytes });
    } catch (err) {
      // Bodies that cannot be decoded get an HTTP status (there is no uid to answer with).
      const code = isProtocolError(err) ? err.code : 'MALFORMED_PROTOBUF';
      this.metrics.reject(rejectionFor(code));
      this.writeError(res, httpStatusForError(code), (err as Error).message);
      return;
    }
    const uid = Buffer.from(msg.instanceUid ?? []);
    const agent = agentKey(uid, this.options.acceptLegacyUlid);
    if ('invalid' in agent) {
      // Decodes but is invalid: a BAD_REQUEST ServerToAgent, as the spec reads.
      this.metrics.reject('invalid_instance_uid');
      this.writeReply(res, badRequestReply(uid, agent.invalid), acceptEncoding, 'error');
      return;
    }
    const key = agent.key;
    const storable = storableInbound(msg, raw, this.metrics);
    if (storable.refused) {
      this.writeReply(res, badRequestReply(uid, storable.refused), acceptEncoding, 'error');
      return;
    }
    const forwarded = storable.payload;
    const kind = messageKind(msg);
    this.metrics.messagesIn.inc({ transport: 'http', kind });
    this.metrics.connections.inc({ transport: 'http' });
    const conn: ConnectionContext = {
      connectionId: newConnectionId(),
      transport: 'http',
      tenantId: credential.tenantId,
      tokenId: credential.tokenId,
      credential,
      ...peer,
      bindings: new Map(),
      bucket: null,
      ws: null,
      firstReplySent: true,
      closed: false,
    };
    const uidHex = key.toString('hex');
    const verdict = claimVerdict(this.deps.authenticator, credential, uidHex, Number(msg.capabilities ?? 0), undefined);
    if (!verdict.ok) {
      this.metrics.connections.dec({ transport: 'http' });
      this.metrics.reject(verdict.metric);
      this.bindings.refused(conn, key, verdict.reason, verdict.detail);
      if (!isAborted()) this.writeReply(res, badRequestReply(uid, verdict.detail), acceptEncoding, 'error', true);
      return;
    }
    const binding = this.bindings.bind(conn, key, uidHex, verdict.exclusive);
    try {
      const woken = new Promise<void>((resolve) => {
        binding.wake = resolve;
      });
      // The message is durable before the agent hears back: an HTTP agent has no stream to repair a loss.
      const span = this.bindings.startReceive(binding);
      await this.bindings.emit(binding, (epoch) => this.bindings.envelope(conn, epoch, span ? { agentToServer: forwarded, traceParent: span.traceParent } : { agentToServer: forwarded }));
      span?.end();
      if (binding.duplicate) {
        if (!isAborted()) this.writeReply(res, unavailableReply(uid, EDGE_DEFAULTS.duplicateRetryAfterMs, DUPLICATE_DETAIL), acceptEncoding, 'error', true);
        return;
      }
      if (binding.leaseFailed) {
        if (!isAborted()) this.writeReply(res, unavailableReply(uid, this.admission.retryAfterSeconds() * 1000), acceptEncoding, 'error');
        return;
      }
      // A bare poll is answered at once; a message carrying status (the workers may answer it) waits a little.
      if (this.options.httpPushWaitMs > 0 && kind !== 'heartbeat' && kind !== 'disconnect') {
        await Promise.race([woken, new Promise((resolve) => setTimeout(resolve, this.options.httpPushWaitMs))]);
      }
      const items: PendingReplyItem[] = [...(binding.wakeItems ?? [])];
      const pending = this.deps.pending;
      // On another credential than a switch started from: what the old client may have dropped comes back too.
      const taken = pending.takeFor ? await pending.takeFor(credential.tenantId, uidHex, credential.tokenId) : { items: await pending.take(credential.tenantId, uidHex), holding: false };
      for (const item of taken.items) {
        try {
          items.push(decodePendingItem(item.kind, item.serverToAgent));
        } catch {
          this.metrics.pushes.inc({ result: 'malformed' });
        }
      }
      const { reply, leftovers } = composeHttpReply(uid, items, serverCapabilitiesOf(this.options.acceptsCertificateRequests));
      if (storable.warning) reply.errorResponse = badRequestReply(uid, storable.warning).errorResponse;
      if (isAborted()) {
        leftovers.push(...items.filter((i) => !leftovers.includes(i)));
      } else {
        this.writeReply(res, reply, acceptEncoding, items.length > 0 ? 'push' : 'ack');
        // An offer in this reply (or a switch under way): the old client may drop what it carries.
        const held = itemsToHold(items.filter((i) => !leftovers.includes(i)), taken.holding);
        if (held.length > 0 && pending.hold) {
          await pending.hold(credential.tenantId, uidHex, credential.tokenId, held.map((i) => ({ kind: i.kind, serverToAgent: encodeServerToAgent(i.message) })));
        }
      }
      for (const item of leftovers) {
        if (item.kind === 'direct') continue;
        await this.deps.pending.putBack(credential.tenantId, uidHex, {
          kind: item.kind,
          serverToAgent: encodeServerToAgent(item.message),
        });
      }
    } finally {
      this.metrics.connections.dec({ transport: 'http' });
      binding.wake = undefined;
      this.bindings.unbind(binding, fleet.v1.DisconnectReason.DISCONNECT_REASON_UNSPECIFIED, true);
    }
  }
}
