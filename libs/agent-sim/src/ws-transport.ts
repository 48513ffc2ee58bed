/**
 * Owns the WebSocket side of a simulated agent: opening the connection with
 * the agent's headers / source address / deflate offer, and routing the
 * socket's events back to the agent.
 *
 * The event handlers are module-level functions that find their agent
 * through a symbol on the socket, so a connection costs no closures per
 * agent (which matters at 100,000 agents per process).
 */
import type { ClientRequest, ClientRequestArgs, IncomingMessage } from 'node:http';
import { type ClientOptions, type RawData, WebSocket } from 'ws';

/**
 * What the simulator passes to `ws`. `ws` hands its options on to
 * http.request, which also binds the source port (`localPort`, for source-port
 * pools); @types/ws does not list that one.
 */
export type WsClientOptions = ClientOptions & Pick<ClientRequestArgs, 'localPort'>;

/** What the agent implements to receive socket events; `ws` identifies the connection. */
export interface WsHost {
  onWsOpen(ws: WebSocket): void;
  onWsMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void;
  onWsClose(ws: WebSocket, code: number, reason: string): void;
  /** The upgrade was answered with an HTTP status instead of 101. */
  onWsRefused(ws: WebSocket, status: number, retryAfter: string | undefined): void;
  onWsError(ws: WebSocket, err: Error): void;
}

const HOST = Symbol('agent-sim.ws-host');
type HostedWs = WebSocket & { [HOST]?: WsHost };

export function openWebSocket(host: WsHost, url: URL, options: WsClientOptions): WebSocket {
  const ws = new WebSocket(url, options) as HostedWs;
  ws[HOST] = host;
  ws.on('open', onOpen);
  ws.on('message', onMessage);
  ws.on('close', onClose);
  ws.on('error', onError);
  ws.on('unexpected-response', onUnexpectedResponse);
  return ws;
}

function onOpen(this: HostedWs): void {
  this[HOST]?.onWsOpen(this);
}

function onMessage(this: HostedWs, data: RawData, isBinary: boolean): void {
  // binaryType stays 'nodebuffer' (ws's default): a message is always one Buffer.
  this[HOST]?.onWsMessage(this, data as Buffer, isBinary);
}

function onClose(this: HostedWs, code: number, reason: Buffer): void {
  const host = this[HOST];
  this[HOST] = undefined;
  host?.onWsClose(this, code, reason.toString());
}

function onError(this: HostedWs, err: Error): void {
  this[HOST]?.onWsError(this, err);
}

function onUnexpectedResponse(this: HostedWs, _req: ClientRequest, res: IncomingMessage): void {
  const retryAfter = res.headers['retry-after'];
  this[HOST]?.onWsRefused(this, res.statusCode ?? 0, typeof retryAfter === 'string' ? retryAfter : undefined);
  res.resume();
  // Still CONNECTING: terminate() aborts the handshake; ws then emits 'error' and 'close'.
  this.terminate();
}
