/** What an OpAMP edge is built from: its settings and the parts it plugs in. */
import type { AgentTokenEntry } from '@opamp/bus-redis';
import type { ServerTracing } from '@opamp/tracing';
import type { ClaimDirectory } from './agent-claim';
import type { AgentCredential } from './agent-token.authority';
import type { CertificateDirectory } from './client-certificate';
import type { EdgeMetrics } from './edge-metrics';
import type { CredentialLookup, InboundSink, LeaseStore, PeerGateways, PendingStore, PushInbox, TelemetrySink } from './edge-ports';
import type { PackageDownloadOptions, PackageFileSource } from './package-download.route';

export const OPAMP_PATH = '/v1/opamp';

/** Decides who may connect, and for which agents; answered from memory, no database round trip. */
export interface AgentAuthenticator extends ClaimDirectory, CertificateDirectory {
  authenticate(authorization: string, apiKey: string): AgentCredential | null;
  /** The digest of the bearer credential presented, when one is (for a directory read on a miss). */
  bearerDigest?(authorization: string, apiKey: string): string | null;
  /** True when a credential is held under this digest. */
  knows?(digest: string): boolean;
  /** Takes an entry read from the shared directory. */
  learn?(entry: AgentTokenEntry): void;
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
  /** Waits between tries of a lease Redis did not grant in time (default EDGE_DEFAULTS'); empty: close at once. */
  leaseAcquireRetryDelaysMs?: readonly number[];
  acceptLegacyUlid?: boolean;
  /** Advertise AcceptsConnectionSettingsRequest (0x40): config-service signs agents' CSRs (issue 18). */
  acceptsCertificateRequests?: boolean;
  /**
   * mTLS terminated by a trusted proxy in front (uWebSockets.js here cannot
   * reject a connection on its client certificate nor read it): the verified
   * identity arrives in headers, believed only from these addresses.
   */
  clientIdentity?: ClientIdentityOptions | null;
  /** Package file downloads (package-download.route.ts); served only with a `packageFiles` source. */
  packageDownloads?: PackageDownloadOptions;
  /** The OTLP receiver of agents' own telemetry (otlp-receive.route.ts); served only with a `telemetry` sink. */
  telemetry?: { maxConcurrent: number; maxBodyBytes: number };
}

export interface ClientIdentityOptions {
  /** Header with the verified subject, carried with the agent's messages for the record; '' = none. */
  header: string;
  /** Header with the verified certificate's fingerprint (hex SHA-256 of its DER): the connection's credential (client-certificate.ts). */
  fingerprintHeader?: string;
  /** Header with the verified certificate as URL-encoded PEM (ingress-nginx's ssl-client-cert), used when there is no fingerprint header. */
  certificateHeader?: string;
  /** Addresses and CIDR ranges of the terminators (trusted-proxies.ts). */
  trustedProxies: readonly string[];
  /** Refuse (401) a connection without a believed identity. */
  required: boolean;
}

export interface EdgeDependencies {
  authenticator: AgentAuthenticator;
  inbound: InboundSink;
  leases: LeaseStore;
  pushes: PushInbox;
  pending: PendingStore;
  peers: PeerGateways;
  /** Read before refusing a credential not known here (distributed mode); without it, unknown means refused. */
  credentialLookup?: CredentialLookup;
  /** The bytes of uploaded package files; without it, /v1/packages/files/ answers 404. */
  packageFiles?: PackageFileSource;
  /** Where accepted own telemetry goes; without it, /v1/metrics, /v1/traces and /v1/logs answer 404. */
  telemetry?: TelemetrySink;
  metrics?: EdgeMetrics;
  /** This process's traces (issue 21): sampled agent messages and traced pushes get spans (default off). */
  tracing?: ServerTracing;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}
