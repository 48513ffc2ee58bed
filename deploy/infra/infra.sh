#!/usr/bin/env bash
# Local infrastructure for opamp-fleet on loopback, without Docker:
# PostgreSQL (Debian package), Redis (Debian package) and an Apache Kafka 3.9
# broker in KRaft mode (jars from Maven Central, see deploy/kafka/pom.xml).
#
#   deploy/infra/infra.sh up          install what is missing, start, wait until ready
#   deploy/infra/infra.sh tools       install only the programs tests start themselves
#                                     (haproxy: the mutual-TLS terminator tests); part of up
#   deploy/infra/infra.sh status      one line per service; exit 0 only if all are up
#   deploy/infra/infra.sh down        stop all three, keep data
#   deploy/infra/infra.sh down --purge | purge
#                                     stop all three and delete .infra/*/data
#   deploy/infra/infra.sh logs [postgres|redis|kafka] [-f]
#   deploy/infra/infra.sh kafka-topics|kafka-console-producer|kafka-console-consumer|
#                         kafka-consumer-groups ARGS...
#                                     run Kafka's own CLI classes from the fetched jars
#   deploy/infra/infra.sh kafka-run MAIN_CLASS ARGS...
#
# Environment (defaults in brackets):
#   OPAMP_PG_PORT [54320]  OPAMP_REDIS_PORT [63790]
#   OPAMP_KAFKA_PORT [19092]  OPAMP_KAFKA_CONTROLLER_PORT [19093]
#   OPAMP_KAFKA_SASL_SSL_PORT [19094]  a second listener with TLS and SASL/PLAIN
#                                      (user opamp, test password; CA in .infra/kafka/tls/ca.pem)
#   OPAMP_INFRA_WAIT_SECS [90]        how long `up` waits for each service
#   OPAMP_KAFKA_HEAP_OPTS [-Xms256m -Xmx768m]
#   OPAMP_PG_BINDIR [highest /usr/lib/postgresql/*/bin]
#   OPAMP_INFRA_DIR [<repo>/.infra]  data, logs and env file (a second, separate set of
#                                     instances: own dir AND own ports, e.g. the fault suite's)
#
#   deploy/infra/infra.sh start|stop postgres|redis|kafka
#                                     start (and wait for) / stop one service only
#
# Everything it creates lives in $OPAMP_INFRA_DIR (default <repo>/.infra/, ignored by
# git); connection strings are written to its env file. Every service binds 127.0.0.1 only.
# This is for local development and tests only (PostgreSQL trusts every
# loopback connection, Kafka has no authentication on its first listener; the
# second one, TLS + SASL/PLAIN with a fixed test password, is for the tests of
# the apps' Kafka security settings).
set -euo pipefail

SELF_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SELF_DIR/../.." && pwd -P)
INFRA_DIR="${OPAMP_INFRA_DIR:-$REPO_ROOT/.infra}"

PG_PORT="${OPAMP_PG_PORT:-54320}"
REDIS_PORT="${OPAMP_REDIS_PORT:-63790}"
KAFKA_PORT="${OPAMP_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${OPAMP_KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_SASL_SSL_PORT="${OPAMP_KAFKA_SASL_SSL_PORT:-19094}"
# A test credential for a loopback broker, not a secret.
KAFKA_SASL_USER=opamp
KAFKA_SASL_PASSWORD=opamp-kafka-test-password
WAIT_SECS="${OPAMP_INFRA_WAIT_SECS:-90}"
KAFKA_HEAP_OPTS="${OPAMP_KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"

PG_INIT_SQL="$REPO_ROOT/deploy/compose/postgres-init.sql"
PG_DIR="$INFRA_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_SOCK_DIR="$PG_DIR/run"
PG_LOG_DIR="$PG_DIR/log"
PG_LOG="$PG_LOG_DIR/postgres.log"

REDIS_DIR="$INFRA_DIR/redis"
REDIS_DATA="$REDIS_DIR/data"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/log/redis.log"

KAFKA_POM="$REPO_ROOT/deploy/kafka/pom.xml"
KAFKA_LOG4J="$REPO_ROOT/deploy/kafka/log4j.properties"
KAFKA_TOOLS_LOG4J="$REPO_ROOT/deploy/kafka/tools-log4j.properties"
KAFKA_DIR="$INFRA_DIR/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_LIBS_MARKER="$KAFKA_LIBS/.complete"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOGS="$KAFKA_DIR/logs"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_CLUSTER_ID_FILE="$KAFKA_DIR/cluster.id"
KAFKA_TLS_DIR="$KAFKA_DIR/tls"

ENV_FILE="$INFRA_DIR/env"

# ---------------------------------------------------------------- helpers ---

say() { printf 'infra: %s\n' "$*" >&2; }
die() { printf 'infra: ERROR: %s\n' "$*" >&2; exit 1; }
# one status line per service: NAME STATE ADDRESS DETAIL
line() { printf '%-9s %-9s %-16s %s\n' "$1" "$2" "$3" "${4:-}"; }
now_ms() { local s; s=$(date +%s%N); echo $((s / 1000000)); }
since() { local d=$(( $(now_ms) - $1 )); printf '%d.%ds' $((d / 1000)) $((d % 1000 / 100)); }

for _p in PG_PORT REDIS_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_SASL_SSL_PORT WAIT_SECS; do
  [[ ${!_p} =~ ^[0-9]+$ ]] || die "$_p must be a number (got '${!_p}')"
done
unset _p

CLEANUP_FILES=()
cleanup() {
  local f
  for f in "${CLEANUP_FILES[@]}"; do rm -f -- "$f" 2>/dev/null || sudo -n rm -f -- "$f" 2>/dev/null || true; done
}
trap cleanup EXIT

is_root() { [[ $EUID -eq 0 ]]; }

# Serialise `up`/`down` runs (e.g. several test jobs calling `up` at once).
take_lock() {
  mkdir -p "$INFRA_DIR"
  # belt and braces next to the repository's .gitignore
  [[ -f $INFRA_DIR/.gitignore ]] || printf '*\n' >"$INFRA_DIR/.gitignore"
  exec 9>"$INFRA_DIR/.lock"
  flock -w 600 9 || die "another infra.sh is still running (lock $INFRA_DIR/.lock)"
}

APT_UPDATED=0
# apt_install PACKAGE... : install Debian packages, or say exactly what is missing.
apt_install() {
  local -a sudo=()
  command -v apt-get >/dev/null 2>&1 ||
    die "missing: $* (no apt-get on this machine: install it by hand, then run 'up' again)"
  if ! is_root; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      die "missing: $* (run as root, or first: sudo apt-get install -y $*)"
    fi
  fi
  mkdir -p "$INFRA_DIR"
  local aptlog="$INFRA_DIR/apt.log"
  if (( APT_UPDATED == 0 )); then
    say "apt-get update (needed to install: $*) ..."
    "${sudo[@]}" apt-get update >>"$aptlog" 2>&1 ||
      die "missing: $* ('apt-get update' failed, see $aptlog)"
    APT_UPDATED=1
  fi
  say "apt-get install $* ..."
  # Keep the packages' own services (redis on 6379, the 'main' PostgreSQL
  # cluster on 5432) from being started: this script runs its own instances.
  local policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from opamp-fleet deploy/infra/infra.sh\nexit 101\n' |
      "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    CLEANUP_FILES+=("$policy")
  fi
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "$@" >>"$aptlog" 2>&1; then
    tail -n 15 "$aptlog" >&2 || true
    die "missing: $* ('apt-get install -y $*' failed, see $aptlog)"
  fi
  if [[ ${CLEANUP_FILES[*]-} == *"$policy"* ]]; then
    "${sudo[@]}" rm -f "$policy"
  fi
}

# wait_for SECONDS CHECK_FUNCTION [ARGS...] : poll every 0.25 s.
wait_for() {
  local secs=$1; shift
  local deadline=$(( $(now_ms) + secs * 1000 ))
  until "$@"; do
    (( $(now_ms) < deadline )) || return 1
    sleep 0.25
  done
}

# true if the process exists and is not a zombie (an exited child that its
# parent, possibly a container's init, has not reaped yet)
pid_alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  st=${st##*) }
  [[ ${st%% *} != Z ]]
}

# ------------------------------------------------------------- PostgreSQL ---

PG_BINDIR=""

find_pg_bindir() {
  if [[ -n ${OPAMP_PG_BINDIR:-} ]]; then
    [[ -x $OPAMP_PG_BINDIR/pg_ctl ]] || die "OPAMP_PG_BINDIR=$OPAMP_PG_BINDIR has no pg_ctl"
    PG_BINDIR=$OPAMP_PG_BINDIR; return 0
  fi
  local d best=""
  while IFS= read -r d; do
    [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] && best=$d
  done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V)
  # A cluster keeps the major version it was created with.
  if [[ -s $PG_DATA/PG_VERSION ]]; then
    local v; v=$(<"$PG_DATA/PG_VERSION")
    if [[ -x /usr/lib/postgresql/$v/bin/pg_ctl ]]; then
      best=/usr/lib/postgresql/$v/bin
    elif [[ -n $best ]]; then
      die "$PG_DATA was created by PostgreSQL $v but only $best is installed: install postgresql-$v, or reset with 'infra.sh purge'"
    fi
  fi
  [[ -n $best ]] || return 1
  PG_BINDIR=$best
}

pg_answers() {
  local isready=pg_isready
  [[ -n $PG_BINDIR ]] && isready="$PG_BINDIR/pg_isready"
  command -v "$isready" >/dev/null 2>&1 || return 1
  # -U/-d: otherwise every check logs "role root does not exist" in the server log
  "$isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 2 >/dev/null 2>&1
}

# run a command as the owner of the cluster (initdb/postgres refuse root)
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The postgres OS user must be able to reach .infra/postgres from /.
pg_make_traversable() {
  is_root || return 0
  runuser -u postgres -- test -x "$PG_DIR" 2>/dev/null && return 0
  local p="$PG_DIR"
  local -a chain=()
  while [[ $p != / && -n $p ]]; do chain=("$p" "${chain[@]}"); p=$(dirname -- "$p"); done
  for p in "${chain[@]}"; do
    if ! runuser -u postgres -- test -x "$p" 2>/dev/null; then
      say "chmod o+x $p (so that the postgres user can reach its data directory)"
      chmod o+x "$p"
    fi
  done
}

pg_write_conf() {
  local sockdirs="$PG_SOCK_DIR"
  # unix socket paths are limited to ~107 bytes: fall back to TCP only
  (( ${#PG_SOCK_DIR} + 20 < 100 )) || sockdirs=""
  local tmp="$PG_DATA/opamp-infra.conf.tmp"
  cat >"$tmp" <<EOF
# Generated by deploy/infra/infra.sh on every 'up': edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockdirs'
max_connections = 200
shared_buffers = 128MB
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  is_root && chown postgres: "$tmp"
  mv -f "$tmp" "$PG_DATA/opamp-infra.conf"
}

pg_initdb() {
  if [[ -n $(ls -A "$PG_DATA" 2>/dev/null) ]]; then
    say "$PG_DATA holds no complete cluster (interrupted initdb?): clearing it"
    find "$PG_DATA" -mindepth 1 -delete
  fi
  say "initdb $PG_DATA ..."
  # Trust authentication: local development and tests only. The opamp role
  # still has a password so that the same URLs work against docker-compose.
  if ! as_pg "$PG_BINDIR/initdb" -D "$PG_DATA" -U postgres --auth=trust \
      -E UTF8 --locale=C >"$PG_LOG_DIR/initdb.log" 2>&1; then
    tail -n 20 "$PG_LOG_DIR/initdb.log" >&2 || true
    die "initdb failed (see $PG_LOG_DIR/initdb.log)"
  fi
  printf "\n# added by deploy/infra/infra.sh\ninclude_if_exists = 'opamp-infra.conf'\n" >>"$PG_DATA/postgresql.conf"
  cat >"$PG_DATA/pg_hba.conf" <<'EOF'
# Written by deploy/infra/infra.sh. LOCAL DEVELOPMENT AND TESTS ONLY:
# every connection over the unix socket or from 127.0.0.1 is trusted
# (no password is checked); the server listens on 127.0.0.1 only.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF
  is_root && chown postgres: "$PG_DATA/pg_hba.conf" "$PG_DATA/postgresql.conf"
  return 0
}

pg_up() {
  local t0; t0=$(now_ms)
  if ! find_pg_bindir; then
    apt_install postgresql
    find_pg_bindir || die "missing: PostgreSQL server binaries (no /usr/lib/postgresql/*/bin/pg_ctl after installing 'postgresql')"
  fi
  if is_root && ! id -u postgres >/dev/null 2>&1; then
    die "missing: the 'postgres' OS user (normally created by the Debian postgresql package)"
  fi
  local how="already running"
  if ! pg_answers; then
    mkdir -p "$PG_DATA" "$PG_SOCK_DIR" "$PG_LOG_DIR"
    chmod 755 "$INFRA_DIR" "$PG_DIR"
    chmod 700 "$PG_DATA"
    is_root && chown postgres: "$PG_DATA" "$PG_SOCK_DIR" "$PG_LOG_DIR"
    pg_make_traversable
    [[ -s $PG_DATA/PG_VERSION ]] || pg_initdb
    pg_write_conf
    # pg_ctl refuses to start over a live postmaster of this data dir; one that
    # is alive but not (yet) answering is simply waited for below.
    local pmpid=""
    [[ -f $PG_DATA/postmaster.pid ]] && pmpid=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
    if pid_alive "$pmpid"; then
      local running_port
      running_port=$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true)
      [[ -z $running_port || $running_port == "$PG_PORT" ]] ||
        die "our PostgreSQL is running on port $running_port, not $PG_PORT: run 'infra.sh down' (same ports as for up) first"
      how="was starting"
    else
      # A postmaster killed with -9 whose parent has not reaped it yet (some
      # containers' init) still "exists", and PostgreSQL refuses to start over
      # its lock file. A truly dead pid is handled by PostgreSQL itself.
      if [[ -n $pmpid ]] && kill -0 "$pmpid" 2>/dev/null; then
        say "postmaster $pmpid is a zombie: moving its stale lock files aside"
        mv -f "$PG_DATA/postmaster.pid" "$PG_DATA/postmaster.pid.stale"
        rm -f "$PG_SOCK_DIR"/.s.PGSQL.*   # socket dir is ours alone
      fi
      local out
      # 9>&- : the server must not inherit our lock
      if ! out=$(as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECS" -s start 2>&1 9>&-); then
        printf '%s\n' "$out" >&2
        tail -n 20 "$PG_LOG" >&2 || true
        line postgres FAILED "127.0.0.1:$PG_PORT" "see $PG_LOG"
        die "PostgreSQL did not start"
      fi
      how="started"
    fi
    if ! wait_for "$WAIT_SECS" pg_answers; then
      tail -n 20 "$PG_LOG" >&2 || true
      line postgres FAILED "127.0.0.1:$PG_PORT" "no answer to pg_isready after ${WAIT_SECS}s, see $PG_LOG"
      die "PostgreSQL is not answering"
    fi
  fi
  # roles and databases (idempotent; shared with docker-compose)
  local out
  if ! out=$("$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
      -v ON_ERROR_STOP=1 -f "$PG_INIT_SQL" 2>&1); then
    printf '%s\n' "$out" >&2
    line postgres FAILED "127.0.0.1:$PG_PORT" "could not create role/databases"
    die "PostgreSQL bootstrap failed (is something else listening on $PG_PORT? set OPAMP_PG_PORT)"
  fi
  line postgres up "127.0.0.1:$PG_PORT" "$how ($(since "$t0")), PostgreSQL $(basename "$(dirname "$PG_BINDIR")"), db opamp + opamp_test"
}

pg_down() {
  find_pg_bindir || { line postgres down "127.0.0.1:$PG_PORT" "not installed"; return 0; }
  local pmpid=""
  [[ -f $PG_DATA/postmaster.pid ]] && pmpid=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
  if pid_alive "$pmpid"; then
    if as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 -s stop >/dev/null 2>&1; then
      line postgres stopped "127.0.0.1:$PG_PORT"
    else
      line postgres FAILED "127.0.0.1:$PG_PORT" "pg_ctl stop failed, see $PG_LOG"
      return 1
    fi
  elif pg_answers; then
    line postgres running "127.0.0.1:$PG_PORT" "not started by infra.sh (not $PG_DATA): left alone"
  else
    line postgres down "127.0.0.1:$PG_PORT"
  fi
}

pg_status() {
  find_pg_bindir || true
  if pg_answers; then
    line postgres up "127.0.0.1:$PG_PORT" "postgres://opamp:opamp@127.0.0.1:$PG_PORT/opamp"
  else
    line postgres down "127.0.0.1:$PG_PORT"; return 1
  fi
}

# ------------------------------------------------------------------ Redis ---

redis_answers() {
  [[ $(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

redis_pid() {
  local pid=""
  [[ -f $REDIS_PIDFILE ]] && pid=$(<"$REDIS_PIDFILE")
  pid_alive "$pid" && echo "$pid"
  return 0
}

redis_up() {
  local t0; t0=$(now_ms)
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-server
    hash -r
    command -v redis-server >/dev/null 2>&1 || die "missing: redis-server (still not on PATH after installing 'redis-server')"
  fi
  local how="already running"
  if ! redis_answers; then
    mkdir -p "$REDIS_DATA" "$(dirname "$REDIS_LOG")"
    local rpid rcmd=""
    rpid=$(redis_pid)
    [[ -n $rpid ]] && { rcmd=$(tr '\0' ' ' <"/proc/$rpid/cmdline" 2>/dev/null) || true; }
    if [[ -n $rpid && ! $rcmd =~ :$REDIS_PORT([^0-9]|$) ]]; then
      die "our Redis (pid $rpid) is running on another port than $REDIS_PORT: run 'infra.sh down' (same ports as for up) first"
    fi
    if [[ -z $rpid ]]; then
      # In-memory only (no RDB snapshots, no AOF): nothing to keep between runs.
      if ! redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
          --dir "$REDIS_DATA" --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" \
          --save '' --appendonly no >/dev/null 2>&1 9>&-; then
        tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true
        die "redis-server did not start (see $REDIS_LOG)"
      fi
      how="started"
    else
      how="was starting"
    fi
    if ! wait_for "$WAIT_SECS" redis_answers; then
      tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true
      line redis FAILED "127.0.0.1:$REDIS_PORT" "no PONG after ${WAIT_SECS}s, see $REDIS_LOG"
      die "Redis is not answering"
    fi
  fi
  line redis up "127.0.0.1:$REDIS_PORT" "$how ($(since "$t0")), $(redis-server --version | awk '{print $1, $3}')"
}

redis_down() {
  local pid; pid=$(redis_pid)
  if [[ -n $pid ]]; then
    timeout 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    if wait_for 30 eval '! pid_alive '"$pid"; then
      line redis stopped "127.0.0.1:$REDIS_PORT"
    else
      kill -KILL "$pid" 2>/dev/null || true
      line redis killed "127.0.0.1:$REDIS_PORT" "did not stop within 30s"
    fi
    rm -f "$REDIS_PIDFILE"
  elif command -v redis-cli >/dev/null 2>&1 && redis_answers; then
    line redis running "127.0.0.1:$REDIS_PORT" "not started by infra.sh (no $REDIS_PIDFILE): left alone"
  else
    line redis down "127.0.0.1:$REDIS_PORT"
  fi
}

redis_status() {
  if command -v redis-cli >/dev/null 2>&1 && redis_answers; then
    line redis up "127.0.0.1:$REDIS_PORT" "redis://127.0.0.1:$REDIS_PORT"
  else
    line redis down "127.0.0.1:$REDIS_PORT"; return 1
  fi
}

# ------------------------------------------------------------------ Kafka ---

# Ready check without starting a JVM: send a Kafka Metadata request (API key 3,
# version 0, all topics) over bash's /dev/tcp and read the start of the answer:
#   int32 size | int32 correlation id (=1) | int32 number of brokers | ...
# A KRaft broker only serves requests once it has caught up with the metadata
# log, and lists itself only once it is registered and unfenced, so
# "brokers >= 1" means clients can create topics, produce and consume.
kafka_ready() {
  local out
  # shellcheck disable=SC2016 # the inner script expands its own $1
  out=$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    # size=19 | api_key=3 | api_version=0 | correlation_id=1 | client_id="infra" | topics=[]
    printf "\x00\x00\x00\x13\x00\x03\x00\x00\x00\x00\x00\x01\x00\x05infra\x00\x00\x00\x00" >&3
    head -c 12 <&3 | od -An -tu1 -v
  ' _ "$KAFKA_PORT" 2>/dev/null) || return 1
  local -a b
  read -r -d '' -a b <<<"$out" || true
  (( ${#b[@]} == 12 )) || return 1
  (( b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 1 )) || return 1
  (( (b[8] << 24 | b[9] << 16 | b[10] << 8 | b[11]) >= 1 ))
}

# pid of our broker if it is alive (checks the command line: pids get reused)
kafka_pid() {
  local pid="" cmd=""
  [[ -f $KAFKA_PIDFILE ]] && pid=$(<"$KAFKA_PIDFILE")
  pid_alive "$pid" || return 0
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || true
  [[ $cmd == *"kafka.Kafka "* ]] && echo "$pid"
  return 0
}

need_java() {
  if ! command -v java >/dev/null 2>&1; then
    apt_install openjdk-17-jre-headless
    hash -r
    command -v java >/dev/null 2>&1 || die "missing: java (17 or newer)"
  fi
}

kafka_libs_ok() {
  [[ -f $KAFKA_LIBS_MARKER ]] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null &&
    [[ $(<"$KAFKA_LIBS_MARKER") == "$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)" ]]
}

kafka_fetch_libs() {
  kafka_libs_ok && return 0
  if ! command -v mvn >/dev/null 2>&1; then
    apt_install maven
    hash -r
    command -v mvn >/dev/null 2>&1 || die "missing: mvn (Maven 3)"
  fi
  local t0; t0=$(now_ms)
  say "fetching the Kafka jars with Maven (deploy/kafka/pom.xml -> .infra/kafka/libs) ..."
  mkdir -p "$KAFKA_DIR"
  rm -rf "$KAFKA_LIBS.tmp"
  if ! mvn -q -B -ntp -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
      -DoutputDirectory="$KAFKA_LIBS.tmp" >"$KAFKA_DIR/mvn.log" 2>&1; then
    tail -n 20 "$KAFKA_DIR/mvn.log" >&2 || true
    die "missing: the Kafka jars (Maven could not fetch them from Maven Central, see $KAFKA_DIR/mvn.log)"
  fi
  sha256sum "$KAFKA_POM" | cut -d' ' -f1 >"$KAFKA_LIBS.tmp/.complete"
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
  say "fetched $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $(since "$t0")"
}

# java for short-lived Kafka CLI classes: small heap, fast start, quiet logs
kafka_tool_java() {
  java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$KAFKA_TOOLS_LOG4J" \
    -cp "$KAFKA_LIBS/*" "$@"
}

kafka_new_cluster_id() {
  # a Kafka Uuid: 16 random bytes, base64url without padding, not starting with '-'
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || break
  done
  echo "$id"
}

kafka_listeners_line() {
  echo "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT"
}

# A CA and the broker's certificate for 127.0.0.1 (its key and chain in one PEM,
# Kafka's PEM keystore), made once with openssl.
kafka_tls_files() {
  [[ -s $KAFKA_TLS_DIR/server.pem && -s $KAFKA_TLS_DIR/ca.pem ]] && return 0
  command -v openssl >/dev/null || die "missing: openssl (apt-get install openssl)"
  local d="$KAFKA_TLS_DIR.tmp"
  rm -rf "$d" && mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=opamp-fleet test Kafka CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
    -extfile "$d/san.ext" -out "$d/server.crt" >/dev/null 2>&1
  openssl pkcs8 -topk8 -nocrypt -in "$d/server.key" -out "$d/server.p8" >/dev/null 2>&1
  cat "$d/server.p8" "$d/server.crt" >"$d/server.pem"
  rm -f "$d/ca.key" "$d/server.key" "$d/server.csr" "$d/server.p8" "$d/ca.srl"
  rm -rf "$KAFKA_TLS_DIR" && mv "$d" "$KAFKA_TLS_DIR"
}

kafka_write_props() {
  local tmp="$KAFKA_PROPS.tmp"
  cat >"$tmp" <<EOF
# Generated by deploy/infra/infra.sh on every 'up': edit the script, not this file.
# Single node, KRaft mode (combined broker + controller), loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
$(kafka_listeners_line)
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
# The TLS + SASL/PLAIN listener (a managed Kafka's usual shape), for the tests of OPAMP_KAFKA_TLS/SASL_*.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER="$KAFKA_SASL_PASSWORD";
ssl.keystore.type=PEM
ssl.keystore.location=$KAFKA_TLS_DIR/server.pem
log.dirs=$KAFKA_DATA
num.partitions=12
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
log.retention.hours=168
EOF
  mv -f "$tmp" "$KAFKA_PROPS"
}

kafka_format() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  local id
  if [[ -s $KAFKA_CLUSTER_ID_FILE ]]; then
    id=$(<"$KAFKA_CLUSTER_ID_FILE")
  else
    id=$(kafka_new_cluster_id)
    echo "$id" >"$KAFKA_CLUSTER_ID_FILE"
  fi
  say "formatting Kafka storage (cluster id $id) ..."
  mkdir -p "$KAFKA_DATA"
  if ! kafka_tool_java kafka.tools.StorageTool format -t "$id" -c "$KAFKA_PROPS" \
      >"$KAFKA_LOGS/format.log" 2>&1; then
    cat "$KAFKA_LOGS/format.log" >&2 || true
    die "Kafka storage format failed (see $KAFKA_LOGS/format.log)"
  fi
}

KAFKA_T0=0
KAFKA_HOW="already running"

# Starts the broker in the background and returns at once; kafka_wait waits.
kafka_start() {
  KAFKA_T0=$(now_ms)
  if kafka_ready; then
    # Our broker from before the listeners changed (a TLS + SASL one was added): restarted with the new ones.
    if [[ -n $(kafka_pid) ]] && ! grep -qx "$(kafka_listeners_line)" "$KAFKA_PROPS" 2>/dev/null; then
      say "restarting our Kafka broker: its listeners changed"
      kafka_down
    else
      KAFKA_HOW="already running"; return 0
    fi
  fi
  need_java
  kafka_fetch_libs
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  if [[ -n $(kafka_pid) ]]; then
    grep -qx "$(kafka_listeners_line)" "$KAFKA_PROPS" 2>/dev/null ||
      die "our Kafka broker (pid $(kafka_pid)) runs with other ports than $KAFKA_PORT/$KAFKA_CONTROLLER_PORT: run 'infra.sh down' (same ports as for up) first"
    KAFKA_HOW="was starting"; return 0
  fi
  kafka_tls_files
  kafka_write_props
  kafka_format
  printf '\n==== %s infra.sh: starting kafka.Kafka\n' "$(date -u +%FT%TZ)" >>"$KAFKA_LOGS/kafka.out"
  # setsid + nohup: the broker outlives this shell and its terminal. The inner
  # shell writes its own pid and then becomes java (exec), so the pid file
  # holds the JVM's pid.
  # shellcheck disable=SC2086,SC2016 # KAFKA_HEAP_OPTS is a list of JVM options; $$/$1/$@ belong to the inner shell
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_PIDFILE" \
    java $KAFKA_HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$KAFKA_LOG4J" -Dkafka.logs.dir="$KAFKA_LOGS" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" \
    >>"$KAFKA_LOGS/kafka.out" 2>&1 </dev/null 9>&- &
  KAFKA_HOW="started"
}

kafka_alive_or_ready() {
  kafka_ready && return 0
  # give the pid file a moment to appear right after the start
  if [[ -z $(kafka_pid) ]] && (( $(now_ms) - KAFKA_T0 > 5000 )); then
    return 2
  fi
  return 1
}

kafka_wait() {
  [[ $KAFKA_HOW == "already running" ]] || {
    local deadline=$(( $(now_ms) + WAIT_SECS * 1000 )) rc
    while :; do
      rc=0; kafka_alive_or_ready || rc=$?
      (( rc == 0 )) && break
      if (( rc == 2 )); then
        tail -n 30 "$KAFKA_LOGS/kafka.out" "$KAFKA_LOGS/server.log" >&2 2>/dev/null || true
        line kafka FAILED "127.0.0.1:$KAFKA_PORT" "the broker exited, see $KAFKA_LOGS/server.log"
        die "Kafka did not start"
      fi
      if (( $(now_ms) >= deadline )); then
        tail -n 30 "$KAFKA_LOGS/server.log" >&2 2>/dev/null || true
        line kafka FAILED "127.0.0.1:$KAFKA_PORT" "not ready after ${WAIT_SECS}s, see $KAFKA_LOGS/server.log"
        die "Kafka is not answering"
      fi
      sleep 0.25
    done
  }
  local jar version="?"
  jar=$(compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" | head -n 1) && version=${jar##*/kafka_2.13-} && version=${version%.jar}
  line kafka up "127.0.0.1:$KAFKA_PORT" "$KAFKA_HOW ($(since "$KAFKA_T0")), Kafka $version KRaft, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT"
}

kafka_down() {
  local pid; pid=$(kafka_pid)
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    if wait_for 60 eval '! pid_alive '"$pid"; then
      line kafka stopped "127.0.0.1:$KAFKA_PORT"
    else
      kill -KILL "$pid" 2>/dev/null || true
      line kafka killed "127.0.0.1:$KAFKA_PORT" "did not stop within 60s"
    fi
    rm -f "$KAFKA_PIDFILE"
  elif kafka_ready; then
    line kafka running "127.0.0.1:$KAFKA_PORT" "not started by infra.sh (no live $KAFKA_PIDFILE): left alone"
  else
    rm -f "$KAFKA_PIDFILE"
    line kafka down "127.0.0.1:$KAFKA_PORT"
  fi
}

kafka_status() {
  if kafka_ready; then
    line kafka up "127.0.0.1:$KAFKA_PORT" "bootstrap 127.0.0.1:$KAFKA_PORT"
  elif [[ -n $(kafka_pid) ]]; then
    line kafka starting "127.0.0.1:$KAFKA_PORT" "process $(kafka_pid) alive, not ready yet"; return 1
  else
    line kafka down "127.0.0.1:$KAFKA_PORT"; return 1
  fi
}

kafka_cli() {
  local main=$1; shift
  kafka_libs_ok || die "the Kafka jars are not there yet: run 'infra.sh up' first"
  need_java
  kafka_tool_java "$main" "$@"
}

# ------------------------------------------------------------------ tools ---

# Programs the tests start as their own child processes (never as a service):
# HAProxy, the mutual-TLS terminator of deploy/mtls/haproxy-mtls.cfg.
tools_up() {
  if ! command -v haproxy >/dev/null 2>&1; then
    apt_install haproxy
    hash -r
    command -v haproxy >/dev/null 2>&1 || die "missing: haproxy (still not on PATH after installing 'haproxy')"
  fi
  line haproxy ready "-" "$(haproxy -v 2>/dev/null | head -n 1 | awk '{print $1, $3}') (started by the tests that need it)"
}

# --------------------------------------------------------------- commands ---

write_env() {
  local tmp="$ENV_FILE.tmp"
  cat >"$tmp" <<EOF
# Written by deploy/infra/infra.sh up. Load with: set -a; . .infra/env; set +a
OPAMP_DATABASE_URL=postgres://opamp:opamp@127.0.0.1:$PG_PORT/opamp
OPAMP_TEST_DATABASE_URL=postgres://opamp:opamp@127.0.0.1:$PG_PORT/opamp_test
OPAMP_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
OPAMP_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
OPAMP_TEST_KAFKA_SASL_SSL_BROKERS=127.0.0.1:$KAFKA_SASL_SSL_PORT
OPAMP_TEST_KAFKA_TLS_CA_FILE=$KAFKA_TLS_DIR/ca.pem
OPAMP_TEST_KAFKA_SASL_USERNAME=$KAFKA_SASL_USER
OPAMP_TEST_KAFKA_SASL_PASSWORD=$KAFKA_SASL_PASSWORD
EOF
  mv -f "$tmp" "$ENV_FILE"
}

cmd_up() {
  local t0; t0=$(now_ms)
  take_lock
  # Kafka first: its JVM boots while PostgreSQL and Redis start.
  kafka_start
  pg_up
  redis_up
  tools_up
  kafka_wait
  write_env
  say "all up in $(since "$t0"); connection strings in ${ENV_FILE#"$REPO_ROOT"/}"
}

cmd_down() {
  local purge=0
  case "${1:-}" in
    --purge) purge=1 ;;
    "") ;;
    *) die "unknown option for down: $1 (expected --purge)" ;;
  esac
  take_lock
  local rc=0
  kafka_down || rc=1
  redis_down || rc=1
  pg_down || rc=1
  if (( purge )); then
    (( rc == 0 )) || die "not purging: a service did not stop"
    rm -rf "$PG_DATA" "$REDIS_DATA" "$KAFKA_DATA"
    say "purged $PG_DATA $REDIS_DATA $KAFKA_DATA"
  fi
  return "$rc"
}

# cmd_one start|stop SERVICE : one service (the fault suite stops and restarts each in turn).
cmd_one() {
  local action=$1 svc=${2:-}
  take_lock
  case "$action:$svc" in
    start:postgres) pg_up ;;
    start:redis) redis_up ;;
    start:kafka) kafka_start && kafka_wait ;;
    stop:postgres) pg_down ;;
    stop:redis) redis_down ;;
    stop:kafka) kafka_down ;;
    *) die "usage: infra.sh start|stop postgres|redis|kafka (got '$action ${svc}')" ;;
  esac
}

cmd_status() {
  local rc=0
  pg_status || rc=1
  redis_status || rc=1
  kafka_status || rc=1
  return "$rc"
}

cmd_logs() {
  local follow=0 s
  local -a files=() names=()
  for s in "$@"; do
    case "$s" in
      -f|--follow) follow=1 ;;
      postgres|redis|kafka) names+=("$s") ;;
      *) die "unknown service '$s' (postgres, redis, kafka)" ;;
    esac
  done
  (( ${#names[@]} )) || names=(postgres redis kafka)
  for s in "${names[@]}"; do
    case "$s" in
      postgres) files+=("$PG_LOG") ;;
      redis) files+=("$REDIS_LOG") ;;
      kafka) files+=("$KAFKA_LOGS/server.log" "$KAFKA_LOGS/kafka.out") ;;
    esac
  done
  local -a existing=()
  for s in "${files[@]}"; do [[ -f $s ]] && existing+=("$s"); done
  (( ${#existing[@]} )) || die "no log files yet under $INFRA_DIR"
  if (( follow )); then exec tail -n 20 -F "${existing[@]}"; fi
  tail -n 40 "${existing[@]}"
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    purge) cmd_down --purge ;;
    start|stop) cmd_one "$cmd" "$@" ;;
    status) cmd_status ;;
    tools) tools_up ;;
    logs) cmd_logs "$@" ;;
    kafka-topics) kafka_cli org.apache.kafka.tools.TopicCommand "$@" ;;
    kafka-console-producer) kafka_cli kafka.tools.ConsoleProducer "$@" ;;
    kafka-console-consumer) kafka_cli org.apache.kafka.tools.consumer.ConsoleConsumer "$@" ;;
    kafka-consumer-groups) kafka_cli org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
    kafka-run) [[ $# -ge 1 ]] || die "usage: infra.sh kafka-run MAIN_CLASS [ARGS...]"; kafka_cli "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
