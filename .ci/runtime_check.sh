#!/usr/bin/env bash
# The production install path, alone: `pip install .` (what the Dockerfile runs; `make
# install` installs the same runtime dependencies) into a fresh venv with no dev extras,
# then a Celery worker from that venv on the real Redis runs one task end to end.
# Usage (services started, DATABASE_URL/REDIS_URL exported): bash .ci/runtime_check.sh DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
venv="$dir/runtime-venv"
rm -rf "$venv" "$dir/runtime-var"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "$src"
# Its own database and queue; run from outside the checkout so the installed package is
# what gets imported.
db_url="${DATABASE_URL%/*}/supportdesk_runtime_check"
python3 - "$db_url" <<'PY'
import subprocess, sys
from urllib.parse import urlparse
url = urlparse(sys.argv[1])
sql = f"DROP DATABASE IF EXISTS {url.path[1:]}; CREATE DATABASE {url.path[1:]};"
for statement in sql.split("; "):
    subprocess.run(["psql", "-h", url.hostname, "-p", str(url.port), "-U", url.username or "postgres",
                    "-d", "postgres", "-qc", statement.rstrip(";")], check=True)
PY
cd "$dir"
export DATABASE_URL="$db_url" SUPPORTDESK_VAR_DIR="$dir/runtime-var" \
  SUPPORTDESK_CELERY_QUEUE="runtime-check-$$" CACHE_KEY_PREFIX="runtime-check-$$" \
  DJANGO_SETTINGS_MODULE=supportdesk.settings
"$venv/bin/python" -m django migrate --noinput >/dev/null
"$venv/bin/python" "$src/.ci/runtime_task.py" "$venv/bin/celery"
