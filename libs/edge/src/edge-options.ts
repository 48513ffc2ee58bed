/** What an OpAMP edge is built from: its settings and the parts it plugs in. */
import type { ClaimDirectory } from './agent-claim';
import type { AgentCredential } from './agent-token.authority';
import type { EdgeMetrics } from './edge-metrics';
import type { InboundSink, LeaseStore, PeerGateways, PendingStore, PushInbox } from './edge-ports';

export const OPAMP_PATH = '/v1/opamp';

/** Decides who may connect, and for which agents; answered from memory, no database round trip. */
export interface AgentAuthenticator extends ClaimDirectory {
  authenticate(authorization: string, apiKey: string): AgentCredential | null;
}

export interface EdgeOptions {
  gatewayId: string;
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string } | null;
  maxMessageBytes: number;
  wsCompression: boolean;
  messagesPerSecond: number;
  messageBurst: number;
  maxConnections: number;
  upgradesPerSecond: number;
  upgradeBurst: number;
  /** Retry delay (seconds, jittered) told to agents refused for overload. */
  retryAfterRangeS: [number, number];
  /** Retry delay told to agents refused while this gateway drains (default EDGE_DEFAULTS' short range). */
  drainRetryAfterRangeS?: [number, number];
  httpPushWaitMs: number;
  idleTimeoutS: number;
  drainWindowMs: number;
  maxPendingInbound: number;
  /** Bytes waiting for the bus beyond which the edge stops admitting work. */
  maxPendingInboundBytes?: number;
  /** Refresh a lease when this much of its life has passed since the last refresh. */
  leaseRefreshAfterMs?: number;
  acceptLegacyUlid?: boolean;
  /** Advertise AcceptsConnectionSettingsRequest (0x40): config-service signs agents' CSRs (issue 18). */
  acceptsCertificateRequests?: boolean;
  /**
   * mTLS terminated by a trusted proxy in front (uWebSockets.js here cannot
   * reject a connection on its client certificate nor read it): the verified
   * identity arrives in this header, believed only from these addresses.
   */
  clientIdentity?: { header: string; trustedProxies: readonly string[]; required: boolean } | null;
}

export interface EdgeDependencies {
  authenticator: AgentAuthenticator;
  inbound: InboundSink;
  leases: LeaseStore;
  pushes: PushInbox;
  pending: PendingStore;
  peers: PeerGateways;
  metrics?: EdgeMetrics;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}
