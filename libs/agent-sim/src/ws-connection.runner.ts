/**
 * Owns a WebSocket simulated agent's connection: opening it on the target of
 * the moment (connection-target.ts) with the profile's TLS, deflate and
 * source address (the next port of its pool, skipping taken ones), sending
 * frames, decoding what comes, and sorting the socket's events into what the
 * agent reacts to, with the retry delay a refusal or the agent set for the
 * next attempt. Protocol state, scheduling and the reaction itself stay the
 * agent's (simulated-agent.ts); the socket is ws-transport.ts's.
 */
import type { WebSocket } from 'ws';
import { decodeServerToAgent, decodeWsMessage, encodeAgentToServerFrame, type opamp } from '@opamp/protocol';
import type { ResolvedProfile } from './agent-options';
import type { AgentErrorKind } from './agent-events';
import type { ConnectionTarget } from './connection-target';
import { sourcePortPool, type SourcePortPool } from './source-ports';
import { openWebSocket, type WsHost } from './ws-transport';

const WS_OPEN = 1;
export const WS_CLOSE_NORMAL = 1000;
/** Taken source ports skipped at once before an agent falls back to its backoff. */
const MAX_PORTS_TAKEN_IN_A_ROW = 64;

/** What the runner needs of its agent (the agent implements it; no closures per agent). */
export interface WsConnectionHost {
  readonly running: boolean;
  /** @internal the connection is open (after the target was told) */
  wsOpened(): void;
  /** @internal a decoded ServerToAgent */
  wsMessage(message: opamp.proto.v1.ServerToAgent): void;
  /** @internal the socket closed; `retryMs` is the delay set for the next attempt (undefined: the agent's backoff) */
  wsClosed(code: number, reason: string, retryMs: number | undefined): void;
  /** @internal the retry delay for a refusing status (Retry-After of 429 / 503, else backoff) */
  throttleDelay(status: number, retryAfter: string | undefined): number;
  /** @internal */
  countError(kind: AgentErrorKind, message: string, status?: number, retryAfterMs?: number): void;
}

export class WsConnectionRunner implements WsHost {
  private ws: WebSocket | undefined;
  /** The delay before the next attempt, when decided before the close (a refusal, a switch, a restart). */
  private retryOverrideMs: number | undefined;
  /** Explicit local ports for a set source address (see source-ports.ts); undefined: the kernel picks. */
  private readonly sourcePorts: SourcePortPool | undefined;
  /** Binds in a row that found their port taken; bounded so a full pool falls back to backoff. */
  private portsTakenInARow = 0;

  constructor(
    private readonly profile: ResolvedProfile,
    private readonly localAddress: string | undefined,
    private readonly target: ConnectionTarget,
    private readonly host: WsConnectionHost,
  ) {
    this.sourcePorts = localAddress ? sourcePortPool(localAddress) : undefined;
  }

  /** A socket exists (open, or still connecting). */
  get exists(): boolean {
    return this.ws !== undefined;
  }

  get open(): boolean {
    return this.ws !== undefined && this.ws.readyState === WS_OPEN;
  }

  /** The next attempt goes after `ms` instead of the backoff (undefined: the backoff again). */
  retryAfter(ms: number | undefined): void {
    this.retryOverrideMs = ms;
  }

  connect(): void {
    const profile = this.profile;
    const target = this.target.current;
    this.retryOverrideMs = undefined;
    this.target.connecting();
    this.ws = openWebSocket(this, target.url, {
      headers: target.headers,
      perMessageDeflate: profile.perMessageDeflate,
      localAddress: this.localAddress,
      localPort: this.sourcePorts?.next(),
      handshakeTimeout: profile.requestTimeoutMs,
      ...(target.clientCertificate ? { cert: target.clientCertificate.certPem, key: target.clientCertificate.keyPem } : {}),
      ...(profile.serverCaPem ? { ca: profile.serverCaPem } : {}),
    });
  }

  /** Sends when open; false when not (nothing sent). */
  send(message: opamp.proto.v1.IAgentToServer): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WS_OPEN) return false;
    ws.send(encodeAgentToServerFrame(message), { binary: true });
    return true;
  }

  /** A normal close when open (the server sees the close frame), else the socket is dropped. */
  close(reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WS_OPEN) ws.close(WS_CLOSE_NORMAL, reason);
    else ws.terminate();
  }

  terminate(): void {
    this.ws?.terminate();
  }

  /** Forgets the socket (stopped); its late events are ignored. */
  forget(): void {
    this.ws = undefined;
  }

  /** @internal socket event */
  onWsOpen(ws: WebSocket): void {
    if (ws !== this.ws) return;
    if (!this.host.running) {
      ws.terminate();
      return;
    }
    this.portsTakenInARow = 0;
    this.target.connected();
    this.host.wsOpened();
  }

  /** @internal socket event */
  onWsMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (ws !== this.ws) return;
    if (!isBinary) {
      this.host.countError('decode', 'text WebSocket frame (OpAMP uses binary frames)');
      return;
    }
    let message: opamp.proto.v1.ServerToAgent;
    try {
      message = decodeServerToAgent(decodeWsMessage(data));
    } catch (err) {
      this.host.countError('decode', (err as Error).message);
      return;
    }
    this.host.wsMessage(message);
  }

  /** @internal socket event */
  onWsClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.host.wsClosed(code, reason, this.retryOverrideMs);
  }

  /** @internal socket event */
  onWsRefused(ws: WebSocket, status: number, retryAfter: string | undefined): void {
    if (ws !== this.ws) return;
    const delay = this.host.throttleDelay(status, retryAfter);
    this.retryOverrideMs = delay;
    const text = `WebSocket upgrade refused with HTTP ${status}`;
    this.target.attemptFailed(text);
    this.host.countError('http_status', text, status, delay);
  }

  /** @internal socket event */
  onWsError(ws: WebSocket, err: Error): void {
    if (ws !== this.ws || this.retryOverrideMs !== undefined) return;
    if (this.sourcePorts && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && this.portsTakenInARow < MAX_PORTS_TAKEN_IN_A_ROW) {
      // The explicit source port is still taken (TIME_WAIT, a wildcard listener): take the next one now.
      this.portsTakenInARow++;
      this.retryOverrideMs = 0;
      return;
    }
    this.target.attemptFailed(err.message);
    this.host.countError('transport', err.message);
  }
}
