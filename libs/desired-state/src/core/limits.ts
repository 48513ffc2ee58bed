/**
 * Every limit of desired state and its API in one place: what a caller may send,
 * how much one request may ask for, how far a rollout may stretch. A value here
 * is a promise to operators (documented and refused with a clear message when
 * exceeded), so change it here and nowhere else.
 */

/** Largest REST request body (JSON) the API parses; a larger one is a 413. */
export const MAX_REST_BODY_BYTES = 2 * 1024 * 1024;

/** Largest page any List* call returns. */
export const MAX_PAGE_SIZE = 1000;

/** Files in one configuration, and their total size in bytes. */
export const MAX_FILES = 64;
export const MAX_TOTAL_BYTES = 1024 * 1024;
/**
 * Alias expansion a YAML file may ask for (the `yaml` package's maxAliasCount):
 * beyond it the file is refused, so a "billion laughs" body costs one parse.
 */
export const MAX_YAML_ALIAS_COUNT = 100;
/**
 * Template variables in one configuration (all its files together). Each is
 * rendered for every agent the configuration goes to; beyond this a
 * configuration is refused when created or updated (and not rendered, were
 * an older one stored with more).
 */
export const MAX_TEMPLATE_VARIABLES = 1000;
/**
 * Longest the reconciler renders without letting the event loop turn (ms): in
 * the embedded server the gateway shares the process, and a heartbeat must not
 * wait behind a page of templated configurations.
 */
export const MAX_RENDER_SLICE_MS = 20;
/** Longest file name in a configuration. */
export const MAX_FILE_NAME = 255;

/** Batches in one rollout, and stages of a staged rollout. */
export const MAX_BATCHES = 100;
export const MAX_STAGES = 50;
/** Soak between batches: a week is the longest a change may take per batch. */
export const MAX_SOAK_MS = 7 * 24 * 3600 * 1000;
/** The apply deadline a rollout gets when the request does not say (ms). */
export const DEFAULT_APPLY_TIMEOUT_MS = 10 * 60 * 1000;
/** Longer than a day is not a deadline any more: 0 (none) says that honestly. */
export const MAX_APPLY_TIMEOUT_MS = 24 * 3600 * 1000;
/**
 * The own-telemetry gate's window (seconds): how much of the agents' own
 * metrics before the batch and at the end of its soak is compared. Choose
 * at least three of the agents' reporting intervals; short windows are for
 * tests. A day is the longest the 10 s points are kept.
 */
export const DEFAULT_OWN_TELEMETRY_GATE_WINDOW_S = 300;
export const MIN_OWN_TELEMETRY_GATE_WINDOW_S = 1;
export const MAX_OWN_TELEMETRY_GATE_WINDOW_S = 6 * 3600;
/** Agents the gate's numbers name (worst export failure rise, stopped reporting). */
export const OWN_TELEMETRY_GATE_WORST_AGENTS = 5;
/** Longest a WaitRollout-style call holds a request open. */
export const MAX_WAIT_MS = 30_000;

/** An agent's stored JSON tree this deep is cut off when shown (it is the agent's, not ours). */
export const MAX_SHOWN_DEPTH = 32;

/** Characters of a caller's value an error message repeats (the rest is only counted). */
export const MAX_ECHO_CHARS = 64;
/**
 * Longest error message a caller gets: gRPC carries it in a trailer
 * (grpc-message), and a trailer beyond the client's header-list limit ends
 * the stream without a status.
 */
export const MAX_ERROR_MESSAGE_CHARS = 2048;

/**
 * How long a remote config sent to one connection waits for the agent's status
 * of it before the same hash may be sent again (ms). Agents send other messages
 * between receiving a config and reporting it (effective config first, then
 * APPLIED); within this window those are not a reason to resend.
 */
export const CONFIG_STATUS_WAIT_MS = 30_000;

/**
 * How long a connection settings offer (an agent's own credential) is not sent
 * again to the same connection: the agent disconnects, tests the new settings
 * by connecting with them, and only then reports.
 */
export const CREDENTIAL_OFFER_WAIT_MS = 30_000;

/**
 * An offer the agent reported FAILED (ConnectionSettingsStatus) is sent again
 * after this back-off, doubled for each further failure, at most
 * CREDENTIAL_OFFER_MAX_RETRIES times; then it waits for the operator (a new
 * rotation replaces the credential by a fresh one).
 */
export const CREDENTIAL_OFFER_RETRY_MS = 60_000;
export const CREDENTIAL_OFFER_MAX_RETRIES = 3;
/**
 * Offers the offer queue (a rotation, a profile change) sends per second per
 * config-service replica: each makes an agent reconnect, and a whole fleet
 * reconnecting at once is a storm the gateways refuse part of (a burst of
 * 10,000 in 5 s on the shared 2-core machine: 30 % FAILED at the transport).
 */
export const DEFAULT_CREDENTIAL_OFFERS_PER_S = 500;

/** Default OpAMP heartbeat interval put in offers to ReportsHeartbeat agents (C62), seconds. */
export const DEFAULT_OFFER_HEARTBEAT_S = 30;

/** How long a tenant keeps disconnected agents when it did not say (days; the column default of migration 0151). */
export const DEFAULT_AGENT_RETENTION_DAYS = 7;
/** Longest retention a tenant may set (days); 0 keeps agents forever. */
export const MAX_AGENT_RETENTION_DAYS = 3650;

/**
 * Deepest nesting of a REST request body. No request of the API nests more
 * than a few levels; a deeper body is refused before anything walks it (a
 * walk of 20,000 levels overflowed the stack: a 500).
 */
export const MAX_REST_JSON_DEPTH = 64;

/** Furthest in the future an agent token's expiry may be set (ms; ten years). */
export const MAX_AGENT_TOKEN_LIFETIME_MS = 3650 * 24 * 3600 * 1000;
/** Most agents one enrollment token may admit (its `max_uses`; absent or 0 = no limit). */
export const MAX_AGENT_TOKEN_USES = 10_000_000;
/** Labels one enrollment token gives its agents, and the longest key and value (characters). */
export const MAX_ENROLLMENT_LABELS = 64;
export const MAX_LABEL_KEY_CHARS = 128;
export const MAX_LABEL_VALUE_CHARS = 256;

/** Scheduled rotation of agents' own credentials: longest lifetime (days; 0 = rotate on demand only). Column check of migration 0160. */
export const MAX_AGENT_CREDENTIAL_LIFETIME_DAYS = 3650;
/** How long an old credential may stay accepted after a rotation (hours; column default and check of migration 0160). */
export const DEFAULT_CREDENTIAL_SWITCH_GRACE_HOURS = 168;
export const MIN_CREDENTIAL_SWITCH_GRACE_HOURS = 1;
export const MAX_CREDENTIAL_SWITCH_GRACE_HOURS = 8760;

/**
 * Connection profiles (core/connection-profile.ts): how many a tenant may
 * have (each is a branch of the one aggregate that counts their agents), and
 * what one may carry; every part ends up in an offer that must fit in one
 * OpAMP message and is kept by agents on their disk.
 */
export const MAX_CONNECTION_PROFILES = 200;
/** Headers of one destination (OpAMP, a proxy, each other connection). */
export const MAX_PROFILE_HEADERS = 32;
export const MAX_HEADER_NAME_CHARS = 128;
export const MAX_HEADER_VALUE_CHARS = 4096;
/** Endpoint and proxy URLs. */
export const MAX_PROFILE_URL_CHARS = 2048;
/** A CA bundle in PEM (ca_pem_contents). */
export const MAX_CA_PEM_CHARS = 64 * 1024;
export const MAX_CIPHER_SUITES = 64;
/** Named other connections in one profile, and other_settings of each. */
export const MAX_OTHER_CONNECTIONS = 32;
export const MAX_OTHER_SETTINGS = 64;
export const MAX_OTHER_SETTING_VALUE_CHARS = 4096;
/** The heartbeat interval a profile may ask for (s); 0 in a profile means the server's default. opamp-go clamps beyond a day. */
export const MAX_PROFILE_HEARTBEAT_S = 86_400;

/** Packages (core/package-catalog.ts): per tenant, versions per package, files (platforms) per version. */
export const MAX_PACKAGES = 1000;
export const MAX_PACKAGE_VERSIONS = 1000;
export const MAX_PACKAGE_FILES = 32;
/** Longest version string, file URL, and publisher signature (bytes) a version may carry. */
export const MAX_PACKAGE_VERSION_CHARS = 128;
export const MAX_PACKAGE_URL_CHARS = 2048;
export const MAX_PACKAGE_SIGNATURE_BYTES = 16 * 1024;
/**
 * Largest package file: uploaded (POST /api/v1/package-files, a 413 beyond)
 * or downloaded from its URL to verify its hash at registration. Agent builds
 * are tens of MiB; 1 GiB leaves room without letting one call fill the disk.
 */
export const DEFAULT_MAX_PACKAGE_FILE_BYTES = 1024 * 1024 * 1024;
/** Longest the download of a version's file from its URL may take at registration (ms). */
export const DEFAULT_PACKAGE_FETCH_TIMEOUT_MS = 5 * 60 * 1000;
/** Package assignments per tenant, and packages one assignment names. */
export const MAX_PACKAGE_ASSIGNMENTS = 1000;
export const MAX_ASSIGNMENT_PACKAGES = 32;
/**
 * Client certificates (issue 18): how long a rotated CA stays trusted beside
 * the new one (agents on its certificates keep connecting until they rotate),
 * and how many CSRs may wait for an operator per tenant (more: the agent is
 * told BAD_REQUEST, nothing is stored).
 */
export const DEFAULT_CA_OVERLAP_HOURS = 24 * 7;
export const MAX_CA_OVERLAP_HOURS = 24 * 366;
export const MAX_PENDING_CERTIFICATE_REQUESTS = 10_000;
/**
 * Certificate rotation (issue 18 item 4): certificates renewed per sweep pass
 * at most (the next pass follows at once while a backlog is left), how long a
 * renewal waits for the agent's switch before it is listed as stalled, how
 * long a certificate whose renewal could not be made (the CA ends first) is
 * left before it is tried again, and the window of the expiry gauge.
 */
export const CERTIFICATE_ROTATIONS_PER_PASS = 200;
export const CERTIFICATE_SWITCH_STALL_MS = 60 * 60 * 1000;
export const CERTIFICATE_RENEWAL_RETRY_MS = 60 * 60 * 1000;
export const CERTIFICATE_EXPIRY_WINDOW_DAYS = 7;
/** Certificate revocation (issue 18 item 5): the operator's note on a revocation, and the agents one call may revoke. */
export const MAX_REVOCATION_NOTE_CHARS = 500;
export const MAX_AGENTS_PER_REVOCATION = 1_000_000;
/**
 * Own-telemetry destinations of a connection profile (issue 19): the names
 * and values of one destination's headers together (each header is also
 * held to MAX_HEADER_NAME_CHARS / MAX_HEADER_VALUE_CHARS); the Collector
 * puts them on every export request.
 */
export const MAX_TELEMETRY_HEADER_CHARS = 16 * 1024;

/**
 * Package installs that failed (issue 17): the set is offered again after
 * each of these waits, then left failed until the set changes. OpAMP clients
 * do not retry by themselves (opamp-go's syncer gives up on a cut download
 * and skips a set whose hash it saw), so a network blip would otherwise strand
 * the agent on its old version.
 */
export const DEFAULT_PACKAGE_RETRY_BACKOFF_MS: readonly number[] = [2 * 60_000, 10 * 60_000, 60 * 60_000];
/** Retries at most (OPAMP_PACKAGE_RETRY_BACKOFF_MS lists at most this many waits). */
export const MAX_PACKAGE_RETRIES = 10;
/** Agents one page of the retry sweep re-decides, and pages per pass at most. */
export const PACKAGE_RETRY_SWEEP_BATCH = 500;
export const PACKAGE_RETRY_PAGES_PER_PASS = 10;

/**
 * Collection of uploaded package files no version names (runtime/package-blob.collector.ts):
 * how long such a file is kept after its last use (an upload waiting for its
 * version to be registered, a download reading it), at least MIN (well above
 * the store's PACKAGE_BLOB_TOUCH_MS, so a running download keeps its file),
 * and how often the sweep runs.
 */
export const DEFAULT_PACKAGE_BLOB_GRACE_MS = 24 * 3600 * 1000;
export const MIN_PACKAGE_BLOB_GRACE_MS = 10 * 60 * 1000;
export const DEFAULT_PACKAGE_BLOB_SWEEP_MS = 10 * 60 * 1000;
/**
 * URL-referenced package files (runtime/package-file.fetcher.ts): redirects
 * followed at most while verifying one, each to the same host only (a
 * redirect elsewhere is refused: it would leave the allow-list's host).
 */
export const MAX_PACKAGE_URL_REDIRECTS = 3;

/**
 * Agents' own metrics (GetAgentOwnMetrics, GetFleetOwnMetrics; issue 19 item 3).
 * A range up to OWN_METRIC_POINTS_RANGE_MS is answered from the 10 s points
 * (kept 24 h by default), a longer one from the 5-minute rollups, at most
 * OWN_METRIC_MAX_RANGE_MS (the rollups' 30 days and a day's partition more).
 * One answer carries at most OWN_METRIC_MAX_POINTS points (then `truncated`),
 * and a fleet roll-up the OWN_METRIC_MAX_GROUPS largest groups.
 */
export const OWN_METRIC_POINTS_RANGE_MS = 24 * 3600 * 1000;
export const OWN_METRIC_MAX_RANGE_MS = 31 * 24 * 3600 * 1000;
export const OWN_METRIC_DEFAULT_RANGE_MS = 3600 * 1000;
export const OWN_METRIC_MAX_POINTS = 100_000;
export const OWN_METRIC_MAX_GROUPS = 50;

/**
 * How long the reconciler waits for the agent row of an event to become visible (ms).
 * status-ingest publishes an agent's event before its transaction commits (a crash between
 * the two replays the batch), so a new agent's event can arrive before its row; decided then,
 * its state and first push were dropped (existingAgentsOnly) and the agent waited for its
 * configuration until it changed again (seen once in the distributed e2e under load). Past
 * this the agent is taken as deleted.
 */
export const AGENT_ROW_WAIT_MS = 5_000;
