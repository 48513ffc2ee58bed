/**
 * Every Kafka topic the system uses: its name, partitions and retention.
 * Keys are always the raw 16-byte instance_uid, so one agent's messages stay
 * in one partition and in order. Values are fleet/v1 protobuf envelopes.
 */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
  /** The protobuf message type of the values (fleet.v1.*). */
  readonly valueType: 'AgentInbound' | 'AgentEvent' | 'AgentTelemetry';
}

const HOUR_MS = 3_600_000;

export const KafkaTopics = {
  /** Gateway -> status-ingest: every AgentToServer plus connect/disconnect. */
  agentInbound: {
    name: 'opamp.agent-inbound',
    partitions: 24,
    retentionMs: 24 * HOUR_MS,
    valueType: 'AgentInbound',
  },
  /** status-ingest -> config-service: what changed in an agent's record. */
  agentEvents: {
    name: 'opamp.agent-events',
    partitions: 24,
    retentionMs: 24 * HOUR_MS,
    valueType: 'AgentEvent',
  },
  /**
   * Gateway -> own-telemetry consumers (issue 19): what the OTLP receiver
   * accepted, bound to the agent its credential names. Apart from
   * agent-inbound so that agents' telemetry never delays their OpAMP
   * messages; short retention: the consumer keeps what it needs.
   */
  agentTelemetry: {
    name: 'opamp.agent-telemetry',
    partitions: 24,
    retentionMs: 6 * HOUR_MS,
    valueType: 'AgentTelemetry',
  },
} as const satisfies Record<string, TopicSpec>;

export const ALL_TOPICS: readonly TopicSpec[] = Object.values(KafkaTopics);

/** Consumer group ids, one per worker kind. */
export const ConsumerGroups = {
  statusIngest: 'opamp.status-ingest',
  configService: 'opamp.config-service',
  /** status-ingest's consumer of opamp.agent-telemetry (issue 19). */
  ownTelemetry: 'opamp.own-telemetry',
  /** status-ingest's store of agents' own metrics from opamp.agent-telemetry (issue 19 item 3): a group of its own, so it commits apart from the counters. */
  ownMetrics: 'opamp.own-metrics',
} as const;
