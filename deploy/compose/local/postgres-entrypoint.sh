#!/bin/sh
# PostgreSQL of Debian's package, for the compose e2e: the official image's
# first-start behaviour (initdb into an empty $PGDATA, trust auth, then the
# /docker-entrypoint-initdb.d/*.sql files on a socket-only server), then "$@".
set -eu
export PATH="/usr/lib/postgresql/bin:$PATH"
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  pg_ctl -w -o "-c listen_addresses='' -k /tmp" start >/dev/null
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -f "$f" ] && psql -v ON_ERROR_STOP=1 -h /tmp -U postgres -d postgres -q -f "$f"
  done
  pg_ctl -w stop >/dev/null
fi
exec "$@"
