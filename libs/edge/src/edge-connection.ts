/**
 * The edge's picture of a connection and of the agents on it, shared by both
 * transports and the binding registry; plus the small classifications they
 * share. Internal to libs/edge.
 */
import { randomBytes } from 'node:crypto';
import type * as uWS from 'uWebSockets.js';
import type { fleet } from '@opamp/contracts';
import { normalizeInstanceUid, type opamp, type ProtocolErrorCode } from '@opamp/protocol';
import type { AgentCredential } from './agent-token.authority';
import type { RejectionReason } from './edge-metrics';
import type { PendingReplyItem } from './server-reply';
import type { TokenBucket } from './token-bucket';

export type Transport = 'ws' | 'http';

export type EdgeLog = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface WaitingEnvelope {
  /** Null for a step that sends nothing (releasing the lease after the queued envelopes). */
  build: ((epoch: number) => fleet.v1.IAgentInbound) | null;
  /** Told when the envelope was handed to the sink (or dropped, with a resolved promise). */
  done: (sent: Promise<void>) => void;
}

/** One agent's association with one connection (a WS stream may carry several agents). */
export interface AgentBinding {
  readonly tenantId: string;
  readonly uidHex: string;
  readonly key: Buffer;
  readonly connection: ConnectionContext;
  epoch: number;
  leaseReady: boolean;
  leaseFailed: boolean;
  /** The lease was refused: another connection holds this agent (enrollment tokens claim exclusively). */
  duplicate?: boolean;
  /** Envelopes waiting for the lease (and its epoch) before they can be sent, in order. */
  waiting: WaitingEnvelope[];
  lastRefreshAt: number;
  /** Set for a plain-HTTP request that is waiting for pushes. */
  wake?: () => void;
  /** The span of the last traced push delivered here: the agent's next message (its answer) continues that trace. */
  traceParent?: string;
  wakeItems?: PendingReplyItem[];
}

export interface ConnectionContext {
  readonly connectionId: string;
  readonly transport: Transport;
  readonly tenantId: string;
  readonly tokenId: string;
  /** What the connection was admitted with (agent-claim.ts decides which uids it speaks for). */
  readonly credential: AgentCredential;
  /** Uids the server assigned on this connection (new_instance_uid): its credential speaks for them too. */
  serverAssigned?: Set<string>;
  readonly remoteAddress: string;
  readonly userAgent: string;
  /** Verified client-certificate identity, when a trusted proxy passed one. */
  readonly clientIdentity: string;
  readonly bindings: Map<string, AgentBinding>;
  readonly bucket: TokenBucket | null;
  ws: uWS.WebSocket<ConnectionContext> | null;
  firstReplySent: boolean;
  closed: boolean;
}

/**
 * The Kafka key of a decoded message's instance_uid (copied: views into uWS's
 * buffer outlive no callback), or why the uid is invalid, for a BAD_REQUEST.
 */
export function agentKey(uid: Buffer, acceptLegacyUlid: boolean | undefined): { key: Buffer } | { invalid: string } {
  try {
    return { key: Buffer.from(normalizeInstanceUid(uid, { acceptLegacyUlid })) };
  } catch (err) {
    return { invalid: (err as Error).message };
  }
}

export function newConnectionId(): string {
  return randomBytes(9).toString('base64url');
}

export function text(buf: ArrayBuffer): string {
  return Buffer.from(buf).toString();
}

export function rejectionFor(code: ProtocolErrorCode): RejectionReason {
  switch (code) {
    case 'MALFORMED_FRAME':
      return 'malformed_frame';
    case 'INVALID_INSTANCE_UID':
      return 'invalid_instance_uid';
    case 'TOO_LARGE':
      return 'too_large';
    case 'UNSUPPORTED_ENCODING':
      return 'unsupported_media_type';
    case 'BAD_ENCODING':
      return 'bad_encoding';
    default:
      return 'malformed_protobuf';
  }
}

/** A classification of inbound messages for the metrics. */
export function messageKind(msg: opamp.proto.v1.AgentToServer): string {
  if (msg.agentDisconnect) return 'disconnect';
  if (msg.agentDescription || msg.health || msg.effectiveConfig || msg.remoteConfigStatus || msg.packageStatuses) {
    return 'status';
  }
  if (msg.customMessage) return 'custom_message';
  if (msg.connectionSettingsRequest) return 'connection_settings_request';
  return 'heartbeat';
}
