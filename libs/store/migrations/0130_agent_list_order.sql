-- ListAgents sort orders (libs/desired-state core/agent-order.ts): one btree
-- per sort key, (tenant_id, key, instance_uid), so a sorted page in either
-- direction is an index scan with a seek to the page token's position. Each
-- expression must be written exactly as the query writes it. Partial on live
-- records, as ListAgents lists only those. Ordering by instance_uid uses the
-- primary key.
CREATE INDEX agents_order_service_name_idx ON agents (tenant_id, (labels ->> 'service.name'), instance_uid) WHERE replaced_by IS NULL;
CREATE INDEX agents_order_host_name_idx ON agents (tenant_id, (labels ->> 'host.name'), instance_uid) WHERE replaced_by IS NULL;
CREATE INDEX agents_order_last_seen_idx ON agents (tenant_id, last_seen_at, instance_uid) WHERE replaced_by IS NULL;
CREATE INDEX agents_order_connected_since_idx ON agents (tenant_id, (CASE WHEN connected THEN connected_since END), instance_uid) WHERE replaced_by IS NULL;
CREATE INDEX agents_order_health_idx ON agents (tenant_id, healthy, instance_uid) WHERE replaced_by IS NULL;
CREATE INDEX agents_order_config_status_idx ON agents (tenant_id, remote_config_status, instance_uid) WHERE replaced_by IS NULL;

