/**
 * The edge's limits where nothing else is configured: one set for every app
 * that runs the edge (the gateway, the embedded server), whose typed config
 * modules use them as the defaults of their environment variables.
 */
export const EDGE_DEFAULTS = Object.freeze({
  /** Per OpAMP message, inbound and outbound, after decompression: the spec's default. */
  maxMessageBytes: 64 * 1024 * 1024,
  wsCompression: true,
  /** Per connection. */
  messagesPerSecond: 20,
  messageBurst: 60,
  /** Per process, below the 20,000 open-files limit. */
  maxConnections: 19_000,
  /**
   * Tenants named in opamp_gateway_agents_connected: the ones with most agents
   * on this gateway; the rest are summed under tenant="_other", so a fleet of
   * many small tenants cannot blow up the series count of every scrape.
   */
  metricTenantsMax: 50,
  /** New connections (WebSocket upgrades) per process. */
  upgradesPerSecond: 1_000,
  upgradeBurst: 2_000,
  /** Retry-After sent with 503 (and retry_info with UNAVAILABLE) for overload, drawn uniformly from this range. */
  retryAfterMinS: 30,
  retryAfterMaxS: 90,
  /**
   * The same while this gateway drains: other gateways are up, or this one is
   * back in seconds, so agents come back soon (jittered, not as one herd).
   */
  drainRetryAfterMinS: 1,
  drainRetryAfterMaxS: 5,
  /**
   * Retry delay told to a second live connection refused for an instance_uid
   * under an enrollment token (agent-claim.ts): a lease of a gateway that died
   * is free once its presence expired (GATEWAY_PRESENCE_TTL_MS), a half-open
   * old connection is gone within the idle timeout, a real clone keeps
   * retrying cheaply.
   */
  duplicateRetryAfterMs: 10_000,
  /**
   * Waits before taking a connection lease again after Redis did not answer
   * (a timeout, a reconnect): the connection stays open meanwhile, its
   * messages waiting, and is closed (1013) only when the last try fails too.
   * Closing at the first hiccup turned a few seconds of slow Redis during a
   * 100,000-agent credential rotation into a reconnect storm (bench note).
   */
  leaseAcquireRetryDelaysMs: Object.freeze([250, 1_000, 3_000]) as readonly number[],
  /**
   * Shared-directory reads per second (and burst) for credentials this gateway
   * does not know: a rotation's agents come back with their new credential
   * before a busy gateway has read its announcement. Bounded so that a flood
   * of made-up tokens costs Redis a few hundred reads a second at most; past
   * the bound an unknown credential is refused at once (counted).
   */
  credentialLookupsPerSecond: 500,
  credentialLookupBurst: 1_000,
  /** How long a plain-HTTP request waits for pushes for its agent. */
  httpPushWaitMs: 250,
  /** Records, and bytes, waiting for the bus beyond which the edge stops admitting work. */
  maxPendingInbound: 50_000,
  maxPendingInboundBytes: 64 * 1024 * 1024,
  /**
   * Package file downloads (package-download.route.ts), per gateway: at most
   * this many at once (beyond: 503 with Retry-After), together at most this
   * many bytes per second, written in pieces of this size, so that a
   * fleet-wide upgrade neither exhausts memory (a piece or a stored chunk per
   * download) nor the link the heartbeats share.
   */
  packageDownloadsMax: 64,
  packageBytesPerSecond: 64 * 1024 * 1024,
  packagePieceBytes: 64 * 1024,
  /**
   * The OTLP receiver of agents' own telemetry (otlp-receive.route.ts), per
   * gateway: requests in flight at once (beyond: 503 with Retry-After, so a
   * burst of exports never delays OpAMP messages behind it), and the largest
   * body, raw and inflated (413 beyond; a Collector's own telemetry is a few
   * KiB per export, its exporters batch far below this).
   */
  telemetryRequestsMax: 32,
  telemetryMaxBodyBytes: 4 * 1024 * 1024,
});
