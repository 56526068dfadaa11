#!/usr/bin/env bash
# Runs the whole suite: starts a throwaway PostgreSQL for the app-database tests, runs pytest,
# stops PostgreSQL. Exit status is pytest's.
set -uo pipefail
cd "$(dirname "$0")/.."
if bash scripts/postgres-test.sh start; then
  JOURNEYLENS_TEST_POSTGRES_URL="$(bash scripts/postgres-test.sh url)"
  export JOURNEYLENS_TEST_POSTGRES_URL
else
  echo "PostgreSQL could not be started; the postgres-marked tests will fail" >&2
  export JOURNEYLENS_TEST_POSTGRES_URL="postgresql+psycopg://unavailable@127.0.0.1:1/none"
fi
export JOURNEYLENS_REQUIRE_ALL_BACKENDS=1
.venv/bin/pytest -p no:cacheprovider "$@"
status=$?
bash scripts/postgres-test.sh stop || true
exit $status
