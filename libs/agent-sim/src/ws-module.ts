/**
 * Owns the typed view of the `ws` package's client. The workspace has `ws`
 * but not `@types/ws`, and this lib may not add packages, so the few members
 * the simulator uses are typed here and the module is loaded with require.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';

export interface WsPerMessageDeflateOptions {
  readonly serverNoContextTakeover?: boolean;
  readonly clientNoContextTakeover?: boolean;
  readonly serverMaxWindowBits?: number | boolean;
  readonly clientMaxWindowBits?: number | boolean;
  readonly threshold?: number;
}

export interface WsClientOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly perMessageDeflate?: false | WsPerMessageDeflateOptions;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly handshakeTimeout?: number;
  readonly maxPayload?: number;
}

/** The subset of a `ws` WebSocket the simulator uses. */
export interface WsClient {
  readonly readyState: number;
  send(data: Buffer, options: { binary: boolean }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'open', listener: (this: WsClient) => void): this;
  on(event: 'message', listener: (this: WsClient, data: Buffer, isBinary: boolean) => void): this;
  on(event: 'close', listener: (this: WsClient, code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (this: WsClient, err: Error) => void): this;
  on(event: 'unexpected-response', listener: (this: WsClient, req: ClientRequest, res: IncomingMessage) => void): this;
}

export interface WsClientConstructor {
  new (url: string | URL, options?: WsClientOptions): WsClient;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
}

const wsPackage = require('ws') as { WebSocket: WsClientConstructor };

export const WebSocketClient: WsClientConstructor = wsPackage.WebSocket;
