/**
 * Every Redis key and pub/sub channel the system uses, with its TTL and owner.
 * Redis holds only what is true right now (who owns a connection, what waits
 * for an HTTP poll); PostgreSQL is the source of truth.
 *
 * Keys that belong to one agent embed the instance_uid as lowercase hex and
 * the tenant, so tenants never collide.
 */

/** Lease on an agent's connection: gateway id, connection id, epoch. Owner: gateway. */
export const CONNECTION_LEASE_TTL_MS = 90_000; // 3 x the default 30 s heartbeat
/** Pending ServerToAgent items for plain-HTTP agents (latest of each kind). Owner: config-service writes, gateway reads. */
export const PENDING_PUSH_TTL_MS = 15 * 60_000;
/**
 * A gateway's presence: refreshed every GATEWAY_PRESENCE_REFRESH_MS while it
 * runs. A lease held by a gateway without one is not live (the gateway died
 * without releasing it), so an agent's new connection may take it over even
 * under an enrollment token (libs/edge agent-claim.ts). Owner: gateway.
 */
export const GATEWAY_PRESENCE_TTL_MS = 6_000;
export const GATEWAY_PRESENCE_REFRESH_MS = 2_000;
/** Last-seen time of agents, batched to PostgreSQL by status-ingest. */
export const LAST_SEEN_TTL_MS = 24 * 3_600_000;

const PREFIX = 'opamp';

function agentKey(kind: string, tenantId: string, instanceUidHex: string): string {
  return `${PREFIX}:${kind}:{${tenantId}:${instanceUidHex}}`;
}

export const RedisKeys = {
  /** STRING: the ConnectionLease of one agent. TTL CONNECTION_LEASE_TTL_MS, refreshed on each message. */
  connectionLease: (tenantId: string, instanceUidHex: string) => agentKey('conn', tenantId, instanceUidHex),
  /** STRING counter: the fencing epoch of one agent. No TTL (monotonic for the agent's life). */
  connectionEpoch: (tenantId: string, instanceUidHex: string) => agentKey('epoch', tenantId, instanceUidHex),
  /** HASH kind -> ServerToAgent bytes waiting for the next HTTP poll. TTL PENDING_PUSH_TTL_MS. */
  pendingPush: (tenantId: string, instanceUidHex: string) => agentKey('pending', tenantId, instanceUidHex),
  /** HASH instance uid -> last seen ms, per tenant. TTL LAST_SEEN_TTL_MS. */
  lastSeen: (tenantId: string) => `${PREFIX}:lastseen:{${tenantId}}`,
  /**
   * HASH instance uid -> the volatile part of an agent's record that status-ingest
   * does not write to PostgreSQL per message (JSON AgentCursor of libs/ingest: epoch,
   * sequence, last seen, plain-HTTP owner, and what the heartbeat fast path checks:
   * connected, stale, capabilities, described, client identity, replaced). Written
   * compare-and-set. TTL LAST_SEEN_TTL_MS. Owner: status-ingest.
   */
  ingestCursor: (tenantId: string) => `${PREFIX}:ingest-cursor:{${tenantId}}`,
  /**
   * ZSET instance uid -> last seen ms of agents counted connected; the liveness
   * sweep reads the oldest. TTL LAST_SEEN_TTL_MS. Owner: status-ingest.
   */
  liveAgents: (tenantId: string) => `${PREFIX}:live:{${tenantId}}`,
  /**
   * HASH kind -> ServerToAgent bytes a plain-HTTP reply delivered while the
   * agent switches credentials (its old client may drop it), and "_credential"
   * -> the credential they were delivered on; put back into pendingPush when
   * the agent polls with another. Same slot as pendingPush. TTL
   * PENDING_PUSH_TTL_MS. Owner: gateway.
   */
  pendingHeld: (tenantId: string, instanceUidHex: string) => agentKey('pending-held', tenantId, instanceUidHex),
} as const;

export const AgentTokenKeys = {
  /**
   * HASH sha256(token) as base64 -> "tenant|tokenId" (an enrollment token) or
   * "tenant|id|kind|uid|active|expiresMs" (an agent's own credential, or an
   * enrollment token with an expiry): every credential gateways accept. No TTL;
   * owner: config-service. A client certificate (kind "c") is keyed by the
   * lowercase hex SHA-256 of its DER instead.
   */
  directory: () => `${PREFIX}:agent-tokens`,
  /** HASH tenant -> "1" when the tenant requires per-agent credentials. No TTL; owner: config-service. */
  policies: () => `${PREFIX}:agent-policies`,
  /** Channel of changes to both ("put|digest|value", "del|digest", "policy|tenant|0/1"). Subscribers: gateways. */
  changes: () => `${PREFIX}:agent-tokens:changes`,
} as const;

export const GatewayKeys = {
  /** STRING "1": the gateway is running. TTL GATEWAY_PRESENCE_TTL_MS, refreshed every GATEWAY_PRESENCE_REFRESH_MS. */
  presence: (gatewayId: string) => `${PREFIX}:gw-alive:${gatewayId}`,
} as const;

export const RedisChannels = {
  /** GatewayPush messages for the connections one gateway owns. Subscriber: that gateway. */
  gatewayPush: (gatewayId: string) => `${PREFIX}:gw:${gatewayId}`,
  /** AgentChangeNotice of agents whose API view changed. Publisher: config-service reconcilers; subscribers: every config-service replica (WatchAgents). */
  agentChanges: () => `${PREFIX}:agent-changes`,
} as const;

/** Certificate revocation (issue 18 item 5). */
export const CertificateRevocationKeys = {
  /**
   * HASH certificate fingerprint (lowercase hex SHA-256 of its DER) ->
   * "tenant|certificateId|uid|notAfterMs": client certificates revoked, refused by
   * every gateway even if their directory entry came back (a late put). Changes
   * are announced on AgentTokenKeys.changes() ("revoke|fingerprint|..."). No TTL:
   * an entry goes once its certificate's notAfter has passed (the certificate
   * sweep prunes them). Owner: config-service.
   */
  revoked: () => `${PREFIX}:agent-certs-revoked`,
} as const;
