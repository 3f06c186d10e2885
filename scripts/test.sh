#!/usr/bin/env bash
# Runs the suite on real PostgreSQL + Redis when they are reachable on
# 127.0.0.1 (starting them if this machine has them installed), and on the
# embedded default (SQLite + filesystem broker) that `make run` uses.
# It always says which backends each pass used.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG_URL=${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/forensics}
REDIS_TEST_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}

# The layer contract first (pyproject.toml [tool.importlinter], docs/architecture.md): an upward import fails
# the run before any test starts.
echo "=================== Import layers (lint-imports) ==================="
if ! .venv/bin/lint-imports --no-cache --no-logo; then
  echo "!!! an import breaks the layer contract (above): the run stops here"
  exit 1
fi

# The linter on the whole tree (pyproject.toml [tool.ruff]): a finding fails the run before any test.
echo "=================== Lint (ruff check, pyproject.toml [tool.ruff]) ==================="
if ! .venv/bin/ruff check --no-cache .; then
  echo "!!! ruff found problems (above; \`.venv/bin/ruff check --fix .\` fixes the safe ones): the run stops here"
  exit 1
fi

# The type checker on its scope (pyproject.toml [tool.mypy] files): a type error fails the run before any test.
echo "=================== Types (mypy, pyproject.toml [tool.mypy]) ==================="
mypy_var=$(mktemp -d /tmp/forensics-mypy.XXXXXX)  # the Django plugin loads the settings
FORENSICS_VAR_DIR="$mypy_var" .venv/bin/mypy
mypy_status=$?
rm -rf "$mypy_var"
if [ $mypy_status -ne 0 ]; then
  echo "!!! the type checker found errors (above): the run stops here"
  exit 1
fi

pg_up()    { $PY -c "import psycopg,sys; psycopg.connect('${PG_URL%/*}/postgres', connect_timeout=3).close()" 2>/dev/null; }
redis_up() { $PY -c "import redis; redis.Redis.from_url('$REDIS_TEST_URL', socket_connect_timeout=3).ping()" 2>/dev/null; }

if ! pg_up && command -v pg_ctlcluster >/dev/null; then
  echo "PostgreSQL is not answering; trying to start it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>&1 || true
  sleep 2
fi
if ! redis_up && command -v redis-server >/dev/null; then
  echo "Redis is not answering; trying to start it"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no 2>&1 || true
  sleep 1
fi

# The browser test drives Debian's Chromium (no browser download); install it if we can.
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing Debian's chromium for the browser test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "!!! could not install chromium: the browser test will be skipped"
fi

run_pass() {  # name, then extra environment, then pytest args after --
  local name=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done; shift
  local var_dir; var_dir=$(mktemp -d /tmp/forensics-test.XXXXXX)
  echo
  echo "=================== $name ==================="
  env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL FORENSICS_VAR_DIR="$var_dir" "${envs[@]}" $PY -m pytest --durations=15 "$@"
  local rc=$?
  rm -rf "$var_dir"
  return $rc
}

status=0
if pg_up && redis_up; then
  # Only the tests that can touch the database or the queue (tests/support/backend_pass.py); the rest would
  # run the same code twice, and pass 2 runs them.
  run_pass "Pass 1/2: the tests that touch the database or the queue, on PostgreSQL ($PG_URL) + Redis ($REDIS_TEST_URL)" \
    DATABASE_URL="$PG_URL" REDIS_URL="$REDIS_TEST_URL" FORENSICS_TEST_PASS=backends -- "$@" || status=1
else
  echo
  echo "!!! PostgreSQL and/or Redis are NOT reachable on 127.0.0.1: the database and queue tests"
  echo "!!! run on the embedded default (SQLite + filesystem broker) only."
fi
run_pass "Pass 2/2: whole suite on the embedded default (SQLite + filesystem broker)" \
  -- "$@" || status=1
exit $status
