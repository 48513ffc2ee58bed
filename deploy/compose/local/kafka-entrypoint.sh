#!/bin/sh
# A single-node KRaft broker for the compose e2e, configured like the official
# apache/kafka image: every KAFKA_FOO_BAR variable is the property foo.bar;
# CLUSTER_ID formats an empty log directory on the first start.
set -euf
props=/tmp/server.properties
env | sed -n 's/^KAFKA_\([A-Z0-9_]*\)=\(.*\)$/\1=\2/p' | grep -v '^HEAP_OPTS=' | while IFS='=' read -r key value; do
  printf '%s=%s\n' "$(printf '%s' "$key" | tr 'A-Z_' 'a-z.')" "$value"
done > "$props"
logs="$(sed -n 's/^log\.dirs=//p' "$props")"
java="java -Xms32m -Xmx256m -XX:+UseSerialGC -Dlog4j.configuration=file:/opt/kafka/log4j.properties -cp /opt/kafka/libs/*"
if [ ! -f "$logs/meta.properties" ]; then
  $java kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$props" >/dev/null
fi
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -Dlog4j.configuration=file:/opt/kafka/log4j.properties \
  -cp '/opt/kafka/libs/*' kafka.Kafka "$props"
