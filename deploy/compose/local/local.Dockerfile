# Kafka, Redis, PostgreSQL and HAProxy from Debian packages on the debootstrapped
# base of scripts/deploy-base-image.sh, for machines without a registry (the
# compose e2e, scripts/test-compose.sh). docker-compose.yml keeps the official
# images for users; docker-compose.local.yml beside this file selects these.
# One file, one target per service (docker build --target redis ...).
ARG BASE=local/node:20-runtime


FROM ${BASE} AS redis
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/*
USER redis
CMD ["redis-server"]

FROM ${BASE} AS postgres
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/lib/postgresql/*/bin /usr/lib/postgresql/bin \
 && mkdir -p /var/lib/postgresql/data && chown postgres:postgres /var/lib/postgresql/data && chmod 700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/bin:$PATH
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
USER postgres
ENTRYPOINT ["sh", "/usr/local/bin/postgres-entrypoint.sh"]

FROM ${BASE} AS haproxy
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null \
 && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]

# The broker's jars are the ones deploy/infra/infra.sh fetched from Maven
# Central (.infra/kafka/libs, copied into the build context by the e2e).
FROM ${BASE} AS kafka
# the JRE's postinst registers man pages with update-alternatives: the base has no man dirs
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/kafka/data && chown 10001:10001 /var/lib/kafka/data
COPY kafka-libs /opt/kafka/libs
COPY kafka-log4j.properties /opt/kafka/log4j.properties
COPY kafka-entrypoint.sh /usr/local/bin/kafka-entrypoint.sh
USER 10001:10001
ENTRYPOINT ["sh", "/usr/local/bin/kafka-entrypoint.sh"]
