#!/usr/bin/env bash
# make test: every test on SQLite and on the real PostgreSQL.
source "$(dirname "$0")/lib.sh"
apt_ensure chromium fonts-noto-cjk gettext
databases="${YIWANG_TEST_DATABASES:-sqlite postgres}"
export SECRET_KEY="test-only-secret-key-not-for-production-use-0123456789"
export YIWANG_LOCATOR_RECHECK_SECONDS=0
# Threads of the live server must not keep connections that block dropping the test database.
export YIWANG_DB_CONN_MAX_AGE=0
redis_ensure
status=0
for db in $databases; do
    echo "=== tests on $db ==="
    if [ "$db" = postgres ]; then
        postgres_ensure
        export DATABASE_URL="${YIWANG_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    else
        unset DATABASE_URL
    fi
    .venv/bin/python -m pytest "$@" || status=$?
done
exit $status
