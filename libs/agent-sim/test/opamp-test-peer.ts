/**
 * Test-only OpAMP server peer for the simulator's transport tests: one
 * node:http server on 127.0.0.1 (port 0) that takes plain-HTTP POSTs and WS
 * upgrades on the same path, decodes every AgentToServer with the protocol
 * lib and records it, and lets the test script the replies, pushes, refusals
 * and closes. Not a server implementation: it does only what a test tells it.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as zlib from 'node:zlib';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  decodeAgentToServer,
  decodeRequestBody,
  decodeWsMessage,
  encodeServerToAgent,
  encodeServerToAgentFrame,
  opamp,
  ServerCapabilities,
} from '@opamp/protocol';
import { waitFor } from '@opamp/testing';

type AgentToServer = opamp.proto.v1.AgentToServer;
type IServerToAgent = opamp.proto.v1.IServerToAgent;

export interface Received {
  readonly transport: 'ws' | 'http';
  readonly message: AgentToServer;
  /** WS: connection number (1-based, in order of upgrade); HTTP: 0. */
  readonly connection: number;
  /** HTTP request headers (WS: the upgrade request's). */
  readonly headers: http.IncomingHttpHeaders;
  /** Source address of the connection. */
  readonly remoteAddress: string | undefined;
  /** Source port of the connection. */
  readonly remotePort: number | undefined;
  readonly at: number;
}

/** What to do with an HTTP POST or a WS upgrade before OpAMP handling. */
export interface Refusal {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

/** Reply for one AgentToServer: a message, several, or null for none. */
export type Replier = (received: Received) => IServerToAgent | IServerToAgent[] | null;

export const PEER_CAPABILITIES =
  ServerCapabilities.AcceptsStatus | ServerCapabilities.OffersRemoteConfig | ServerCapabilities.AcceptsEffectiveConfig;

/** The default reply: an acknowledgement echoing instance_uid, with capabilities. */
export const ack: Replier = (r) => ({ instanceUid: r.message.instanceUid, capabilities: PEER_CAPABILITIES });

export class OpampTestPeer {
  readonly received: Received[] = [];
  /** Upgrade requests seen (including refused ones). */
  readonly upgrades: http.IncomingMessage[] = [];
  /** HTTP POSTs seen (including refused ones). */
  httpRequests = 0;
  /** Replies to AgentToServer messages; replace to script a test. */
  reply: Replier = ack;
  /** Return a refusal to answer an HTTP POST with that status instead. */
  refuseHttp: ((headers: http.IncomingHttpHeaders) => Refusal | undefined) | undefined;
  /** Return a refusal to answer a WS upgrade with that status instead of 101. */
  refuseUpgrade: ((headers: http.IncomingHttpHeaders) => Refusal | undefined) | undefined;
  /** Gzip HTTP responses when the request accepts gzip. */
  gzipResponses = true;
  /** While true, HTTP requests are held (not answered) until releaseHttp(). */
  holdHttp = false;
  /** Most HTTP requests in progress at the same time. */
  maxConcurrentHttp = 0;
  private httpInProgress = 0;
  private held: Array<() => void> = [];
  /** Raw bytes to send as the HTTP response body instead of the encoded reply (decode-error tests). */
  rawHttpBody: Buffer | undefined;

  private readonly sockets = new Set<WebSocket>();
  private readonly rawSockets = new Set<Socket>();
  private wsCount = 0;
  private readonly wss: WebSocketServer;

  private constructor(private readonly server: http.Server) {
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: true });
    server.on('request', (req, res) => this.onRequest(req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on('connection', (socket: Socket) => {
      this.rawSockets.add(socket);
      socket.on('close', () => this.rawSockets.delete(socket));
    });
  }

  static async start(): Promise<OpampTestPeer> {
    const server = http.createServer();
    const peer = new OpampTestPeer(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return peer;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/opamp`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}/v1/opamp`;
  }

  /** WS connections accepted so far. */
  get wsConnections(): number {
    return this.wsCount;
  }

  /** WS connections open now. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** The permessage-deflate parameters accepted on the latest connection ('' when not negotiated). */
  lastExtensions = '';

  /** HTTP requests waiting because of holdHttp. */
  get heldRequests(): number {
    return this.held.length;
  }

  /** Stop holding and answer the held HTTP requests. */
  releaseHttp(): void {
    this.holdHttp = false;
    for (const answer of this.held.splice(0)) answer();
  }

  /** Send a ServerToAgent to every open WS connection. */
  push(message: IServerToAgent): void {
    const frame = encodeServerToAgentFrame(message);
    for (const ws of this.sockets) ws.send(frame, { binary: true });
  }

  /** Send raw data (e.g. a text frame or garbage) to every open WS connection. */
  pushRaw(data: Buffer | string): void {
    for (const ws of this.sockets) ws.send(data, { binary: typeof data !== 'string' });
  }

  /** Close every WS connection from the server side. */
  closeAll(code = 1001): void {
    for (const ws of this.sockets) ws.close(code, 'peer closing');
  }

  /** Messages received so far, optionally only those matching. */
  messages(filter?: (r: Received) => boolean): Received[] {
    return filter ? this.received.filter(filter) : this.received.slice();
  }

  /** Wait until at least `count` messages (matching `filter`) arrived; returns them. */
  async waitForMessages(count: number, filter?: (r: Received) => boolean, timeoutMs = 5000): Promise<Received[]> {
    return waitFor(
      () => this.messages(filter),
      (list) => list.length >= count,
      { timeoutMs, description: `${count} AgentToServer message(s)` },
    );
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    for (const socket of this.rawSockets) socket.destroy();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(transport: 'ws' | 'http', message: AgentToServer, connection: number, req: http.IncomingMessage): Received {
    const received: Received = {
      transport,
      message,
      connection,
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
      remotePort: req.socket.remotePort,
      at: Date.now(),
    };
    this.received.push(received);
    return received;
  }

  private replies(received: Received): IServerToAgent[] {
    const out = this.reply(received);
    if (out === null) return [];
    return Array.isArray(out) ? out : [out];
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    this.upgrades.push(req);
    const refusal = this.refuseUpgrade?.(req.headers);
    if (refusal) {
      const reason = http.STATUS_CODES[refusal.status] ?? 'Refused';
      const headerLines = Object.entries(refusal.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.end(`HTTP/1.1 ${refusal.status} ${reason}\r\n${headerLines}Content-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = ++this.wsCount;
      this.sockets.add(ws);
      this.lastExtensions = ws.extensions;
      ws.on('close', () => this.sockets.delete(ws));
      ws.on('error', () => undefined);
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return;
        // binaryType stays 'nodebuffer': a message is one Buffer.
        const message = decodeAgentToServer(decodeWsMessage(data as Buffer));
        const received = this.record('ws', message, connection, req);
        for (const reply of this.replies(received)) {
          if (ws.readyState === 1) ws.send(encodeServerToAgentFrame(reply), { binary: true });
        }
      });
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.httpRequests++;
    this.httpInProgress++;
    this.maxConcurrentHttp = Math.max(this.maxConcurrentHttp, this.httpInProgress);
    res.on('close', () => this.httpInProgress--);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (this.holdHttp) this.held.push(() => this.answerHttp(req, res, chunks));
      else this.answerHttp(req, res, chunks);
    });
  }

  private answerHttp(req: http.IncomingMessage, res: http.ServerResponse, chunks: Buffer[]): void {
    const refusal = this.refuseHttp?.(req.headers);
    if (refusal) {
      res.writeHead(refusal.status, refusal.headers ?? {});
      res.end(refusal.body ?? '');
      return;
    }
    let message: AgentToServer;
    try {
      message = decodeAgentToServer(decodeRequestBody(Buffer.concat(chunks), req.headers['content-encoding'], 1 << 20));
    } catch {
      res.writeHead(400);
      res.end();
      return;
    }
    const received = this.record('http', message, 0, req);
    // Plain HTTP carries exactly one ServerToAgent per request: the first scripted reply.
    const reply = this.replies(received)[0] ?? { instanceUid: message.instanceUid };
    let body = this.rawHttpBody ?? encodeServerToAgent(reply);
    const headers: Record<string, string> = { 'Content-Type': 'application/x-protobuf' };
    if (this.gzipResponses && /gzip/.test(String(req.headers['accept-encoding'] ?? ''))) {
      body = zlib.gzipSync(body);
      headers['Content-Encoding'] = 'gzip';
    }
    res.writeHead(200, headers);
    res.end(body);
  }
}
