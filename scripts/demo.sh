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
echo
echo "Yiwang is serving on http://127.0.0.1:8000/  (administration: /admin/, API docs: /api/docs/)"
exec .venv/bin/gunicorn config.wsgi:application --bind "${YIWANG_BIND:-127.0.0.1:8000}" \
    --workers "${YIWANG_WORKERS:-2}" --threads 4 --access-logfile - --timeout 60
