#!/usr/bin/env bash
# Start a throwaway PostgreSQL on loopback for the storage tests: 127.0.0.1:${NNHP_PG_PORT:-54329},
# database nnhp_test, user postgres, trust authentication. Installs Debian's postgresql if missing;
# does nothing if a server already answers there. The test reads NNHP_TEST_POSTGRES_URL
# (default postgresql+psycopg2://postgres@127.0.0.1:54329/nnhp_test) and skips if it cannot connect.
set -euo pipefail
PORT="${NNHP_PG_PORT:-54329}"
DATA="${NNHP_PG_DATA:-/tmp/nnhp-postgres}"

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ -z "$(bin_dir)" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(bin_dir)"
if "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q; then
  exit 0
fi
mkdir -p "$DATA"
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$DATA"; fi
chmod 700 "$DATA"
if [ ! -s "$DATA/PG_VERSION" ]; then
  as_postgres "$BIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
fi
as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$DATA" start >/dev/null
if ! as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -Atc \
    "select 1 from pg_database where datname = 'nnhp_test'" | grep -q 1; then
  as_postgres "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres nnhp_test
fi
echo "PostgreSQL for the tests: postgresql+psycopg2://postgres@127.0.0.1:$PORT/nnhp_test"
