#!/usr/bin/env bash
# make demo: migrate the embedded database, load the demo city if it is not there yet, serve it with gunicorn.
source "$(dirname "$0")/lib.sh"
PY=.venv/bin/python
mkdir -p var
# The demo keeps its own secret key under var/ (a real deployment sets SECRET_KEY in the environment).
if [ -z "${SECRET_KEY:-}" ]; then
    [ -s var/secret_key ] || $PY -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key
    SECRET_KEY="$(cat var/secret_key)"
fi
export SECRET_KEY
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-127.0.0.1,localhost}"
$PY manage.py migrate --no-input -v 0
$PY manage.py collectstatic --no-input -v 0
$PY manage.py seed_demo --if-missing
# The task queue's worker: the deadline sweep every minute and other background work. Without REDIS_URL it
# shares a SQLite queue file under var/ with the web workers, so it needs no broker. Two threads: one may be
# making a video's playable copy (seconds, one at a time) while the other keeps the sweep on time.
$PY manage.py run_huey --workers 2 --flush-locks > var/tasks.log 2>&1 &
TASKS_PID=$!
trap 'kill $TASKS_PID 2>/dev/null' EXIT INT TERM
echo
echo "Yiwang is serving on http://${YIWANG_BIND:-127.0.0.1:8000}/  (administration: /admin/, API docs: /api/docs/)"
.venv/bin/gunicorn config.wsgi:application --bind "${YIWANG_BIND:-127.0.0.1:8000}" \
    --workers "${YIWANG_WORKERS:-2}" --threads 4 --access-logfile - --timeout 60
