#!/usr/bin/env bash
# make bench: each benchmark under bench/ prints its figures.
source "$(dirname "$0")/lib.sh"
apt_ensure postgresql-15-postgis-3 chromium fonts-noto-cjk  # chromium: bench/pages.py
postgres_ensure
for bench in bench/*.py; do
    echo "=== $bench ==="
    .venv/bin/python "$bench"
done
