#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the app-database tests.
#
#   scripts/postgres-test.sh start    # install (apt) if needed, initdb under .pgdata/, start, create journeylens_test
#   scripts/postgres-test.sh url      # postgresql+psycopg://postgres@127.0.0.1:PORT/journeylens_test
#   scripts/postgres-test.sh status
#   scripts/postgres-test.sh stop
#
#   export JOURNEYLENS_TEST_POSTGRES_URL="$(scripts/postgres-test.sh url)"
#
# The cluster trusts local connections and runs with fsync off: it is for tests only.
# As root, the server runs as the `postgres` OS user (PostgreSQL refuses to run as root).
# Environment: JL_PG_PORT (first port tried, default 54329), JL_PGDATA (default .pgdata).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGROOT="${JL_PGDATA:-$ROOT/.pgdata}"
DATA="$PGROOT/data"
DB="journeylens_test"
FIRST_PORT="${JL_PG_PORT:-54329}"
SOCKET_DIR="/tmp/journeylens-pg-$(printf '%s' "$PGROOT" | cksum | cut -d' ' -f1)"

die() { echo "postgres-test: $*" >&2; exit 1; }

find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(readlink -f "$(command -v initdb)")"; return 0; }
  return 1
}

install_postgres() {
  echo "postgres-test: initdb not found; installing postgresql with apt-get" >&2
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

# Run a PostgreSQL program as the cluster owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

saved_port() { [ -f "$PGROOT/port" ] && cat "$PGROOT/port"; }

start() {
  PGBIN="$(find_bin)" || { install_postgres; PGBIN="$(find_bin)" || die "PostgreSQL is still missing after apt-get"; }
  mkdir -p "$PGROOT" "$SOCKET_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PGROOT" "$SOCKET_DIR"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    as_owner "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C >"$PGROOT/initdb.log" 2>&1 \
      || { cat "$PGROOT/initdb.log" >&2; die "initdb failed"; }
  fi
  if ! running; then
    local port="$FIRST_PORT"
    while port_in_use "$port"; do
      port=$((port + 1))
      [ "$port" -gt $((FIRST_PORT + 100)) ] && die "no free port from $FIRST_PORT to $port"
    done
    as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$PGROOT/server.log" -w -t 60 \
      -o "-p $port -h 127.0.0.1 -k $SOCKET_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { tail -20 "$PGROOT/server.log" >&2; die "the server did not start"; }
    echo "$port" >"$PGROOT/port"
  fi
  local port; port="$(saved_port)"
  if ! as_owner "$PGBIN/psql" -h "$SOCKET_DIR" -p "$port" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    as_owner "$PGBIN/createdb" -h "$SOCKET_DIR" -p "$port" -U postgres "$DB"
  fi
  echo "postgres-test: running on 127.0.0.1:$port (data $DATA)" >&2
}

stop() {
  PGBIN="$(find_bin)" || return 0
  if [ -f "$DATA/PG_VERSION" ] && running; then
    as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    echo "postgres-test: stopped" >&2
  fi
}

url() {
  local port; port="$(saved_port)" || die "not started (run: $0 start)"
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/$DB"
}

status() {
  PGBIN="$(find_bin)" || die "PostgreSQL is not installed"
  if running; then echo "running on port $(saved_port)"; else echo "stopped"; return 3; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  status) status ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
