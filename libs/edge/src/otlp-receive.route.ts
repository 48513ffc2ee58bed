/**
 * The OTLP/HTTP receiver of agents' own telemetry (issue 19) on the agent
 * port: POST /v1/metrics, /v1/traces, /v1/logs, protobuf or JSON, gzip or
 * not. What an agent was offered as its own_* destination when the tenant
 * sends its agents' telemetry to this server.
 *
 * Who: the agent's own credential in Authorization / X-API-Key (what its
 * own_* offer carries), as on /v1/opamp, from the same in-memory directory,
 * so a revoked or superseded credential is refused at once (401, C69). An
 * enrollment token speaks for many agents and is refused too: every record
 * is bound to the one agent the credential names (libs/protocol
 * otlp-request.ts overwrites what the body claims). A client certificate
 * alone is not enough here: it is never offered as a telemetry header.
 *
 * Cost: at most `maxConcurrent` requests in flight per gateway (503 with
 * Retry-After beyond), bodies limited raw and inflated (413; gzip inflated
 * with the OpAMP path's bomb-safe limit), what was accepted handed to its own
 * sink (never the OpAMP inbound stream). Bad input is a 4xx with a message,
 * counted; nothing else.
 */
import type * as uWS from 'uWebSockets.js';
import { AgentTelemetryCodec, fleet } from '@opamp/contracts';
import {
  bindOtlpToAgent,
  countOtlpItems,
  decodeOtlpRequest,
  decodeRequestBody,
  encodeOtlpRequest,
  instanceUidToString,
  isProtocolError,
  OTLP_SIGNALS,
  otlpEncodingOf,
  OtlpRequestError,
  otlpSuccessBody,
  type OtlpEncoding,
  type OtlpSignal,
} from '@opamp/protocol';
import type { EdgeAdmission } from './edge-admission';
import type { EdgeLog } from './edge-connection';
import type { EdgeMetrics, RejectionReason } from './edge-metrics';
import type { AgentAuthenticator } from './edge-options';
import type { TelemetrySink } from './edge-ports';

export interface OtlpReceiveOptions {
  gatewayId: string;
  maxConcurrent: number;
  maxBodyBytes: number;
}

const SIGNAL_ENUM: Readonly<Record<OtlpSignal, fleet.v1.AgentTelemetrySignal>> = {
  metrics: fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_METRICS,
  traces: fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_TRACES,
  logs: fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_LOGS,
};

const STATUS: Readonly<Record<number, string>> = {
  400: '400 Bad Request',
  401: '401 Unauthorized',
  413: '413 Content Too Large',
  415: '415 Unsupported Media Type',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

type Result = 'accepted' | 'unauthorized' | 'malformed' | 'too_large' | 'unsupported_media_type' | 'bad_encoding' | 'busy' | 'error';

export class OtlpReceiveRoute {
  private active = 0;

  constructor(
    private readonly options: OtlpReceiveOptions,
    private readonly sink: TelemetrySink,
    private readonly authenticator: AgentAuthenticator,
    private readonly admission: EdgeAdmission,
    private readonly metrics: EdgeMetrics,
    private readonly log: EdgeLog,
    private readonly now: () => number,
  ) {}

  /** Requests in flight on this gateway. */
  get inFlight(): number {
    return this.active;
  }

  register(app: uWS.TemplatedApp): void {
    for (const signal of OTLP_SIGNALS) app.post(`/v1/${signal}`, (res, req) => this.onPost(signal, res, req));
  }

  private onPost(signal: OtlpSignal, res: uWS.HttpResponse, req: uWS.HttpRequest): void {
    // Headers are readable only now, before any await.
    const credential = this.authenticator.authenticate(req.getHeader('authorization'), req.getHeader('x-api-key'));
    const contentType = req.getHeader('content-type');
    const contentEncoding = req.getHeader('content-encoding');
    let lengths = 0;
    req.forEach((name) => {
      if (name === 'content-length') lengths++;
    });
    let aborted = false;
    let counted = false;
    let done = false;
    const finish = () => {
      if (done || !counted) return;
      done = true;
      this.active--;
      this.metrics.telemetryActive.set(this.active);
    };
    // One handler (uWS keeps the last one given): a request gone mid-body frees its slot.
    res.onAborted(() => {
      aborted = true;
      finish();
    });
    if (lengths > 1) return this.refuse(res, signal, 400, 'malformed', 'more than one Content-Length header', 'ambiguous_http', true);
    if (!credential || !credential.uidHex || credential.kind !== 'agent') {
      const why = credential ? "own telemetry is accepted only with the agent's own credential" : 'unauthorized';
      return this.refuse(res, signal, 401, 'unauthorized', why, 'unauthorized');
    }
    const encoding = otlpEncodingOf(contentType);
    if (!encoding) return this.refuse(res, signal, 415, 'unsupported_media_type', 'OTLP/HTTP takes Content-Type application/x-protobuf or application/json', 'unsupported_media_type');
    if (this.admission.draining || this.active >= this.options.maxConcurrent) {
      this.metrics.telemetryRequests.inc({ signal, result: 'busy' });
      this.admission.refuseOverloaded(res, this.admission.draining ? 'draining' : 'overloaded');
      return;
    }
    this.active++;
    this.metrics.telemetryActive.set(this.active);
    counted = true;
    const tenantId = credential.tenantId;
    const uidHex = credential.uidHex;
    const limit = this.options.maxBodyBytes;
    const chunks: Buffer[] = [];
    let received = 0;
    res.onData((chunk, isLast) => {
      if (aborted || done) return;
      received += chunk.byteLength;
      if (received > limit) {
        finish();
        res.cork(() => this.refuse(res, signal, 413, 'too_large', `body exceeds the limit of ${limit} bytes`, 'too_large', true));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (!isLast) return;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received);
      this.accept(signal, encoding, body, contentEncoding, tenantId, uidHex, res, () => aborted)
        .catch((err: unknown) => {
          this.log('error', 'OTLP request failed', { error: String(err) });
          this.metrics.telemetryRequests.inc({ signal, result: 'error' });
          if (!aborted) res.cork(() => res.writeStatus(STATUS[503]).writeHeader('Retry-After', String(this.admission.retryAfterSeconds())).end());
        })
        .finally(finish);
    });
  }

  private async accept(
    signal: OtlpSignal,
    encoding: OtlpEncoding,
    body: Buffer,
    contentEncoding: string,
    tenantId: string,
    uidHex: string,
    res: uWS.HttpResponse,
    isAborted: () => boolean,
  ): Promise<void> {
    let raw: Buffer;
    try {
      raw = decodeRequestBody(body, contentEncoding, this.options.maxBodyBytes);
    } catch (err) {
      const code = isProtocolError(err) ? err.code : 'BAD_ENCODING';
      if (code === 'TOO_LARGE') return this.corked(res, signal, 413, 'too_large', (err as Error).message, 'too_large');
      return this.corked(res, signal, code === 'UNSUPPORTED_ENCODING' ? 415 : 400, 'bad_encoding', (err as Error).message, 'bad_encoding');
    }
    const uid = Buffer.from(uidHex, 'hex');
    let record: Buffer;
    let items: number;
    try {
      const request = decodeOtlpRequest(signal, raw, encoding);
      const overridden = bindOtlpToAgent(request, instanceUidToString(uid));
      if (overridden > 0) this.metrics.telemetryIdentityOverridden.inc(overridden);
      items = countOtlpItems(request);
      record = AgentTelemetryCodec.encode({
        tenantId,
        instanceUid: uid,
        signal: SIGNAL_ENUM[signal],
        receivedAtMs: this.now(),
        items,
        otlpRequest: encodeOtlpRequest(request),
        gatewayId: this.options.gatewayId,
      });
    } catch (err) {
      if (err instanceof OtlpRequestError) return this.corked(res, signal, 400, 'malformed', err.message, 'malformed_protobuf');
      throw err;
    }
    await this.sink.send(uid, record);
    this.metrics.telemetryRequests.inc({ signal, result: 'accepted' });
    this.metrics.telemetryItems.inc({ signal }, items);
    if (isAborted()) return;
    const reply = otlpSuccessBody(signal, encoding);
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('Content-Type', encoding === 'json' ? 'application/json' : 'application/x-protobuf').end(reply);
    });
  }

  private corked(res: uWS.HttpResponse, signal: OtlpSignal, status: number, result: Result, message: string, reason: RejectionReason): void {
    res.cork(() => this.refuse(res, signal, status, result, message, reason));
  }

  /** A refusal with its message in plain text (OTLP/HTTP allows any body on an error; the status is what counts). */
  private refuse(res: uWS.HttpResponse, signal: OtlpSignal, status: number, result: Result, message: string, reason: RejectionReason, close = false): void {
    this.metrics.telemetryRequests.inc({ signal, result });
    this.metrics.reject(reason);
    res.writeStatus(STATUS[status] ?? STATUS[400]).writeHeader('Content-Type', 'text/plain');
    if (status === 401) res.writeHeader('WWW-Authenticate', 'Bearer');
    res.end(`${message}\n`, close);
  }
}
