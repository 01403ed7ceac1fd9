"""gunicorn's settings for the web service, in one place: the Dockerfile,
docker-compose.yml and the benches (bench/web.py ``start_server``, which bench/desk.py
uses) all start gunicorn with ``-c supportdesk/gunicorn.conf.py``, so what the benches
measure is what production runs. Command-line options (bind, workers) still override.
"""

import os

# Sync workers: measured against gthread with keep-alive (bench/README.md, third round of
# the agents' workspace): threads cost more CPU a request than a new connection does.
worker_class = "sync"

# The access log costs a sync worker 0.2–1 ms of CPU a request (a workspace counts poll,
# 4 pairs alternated on a loaded machine: 3.4–3.6 ms without, 3.7–4.6 ms logging to
# /dev/null, and 30 % fewer polls a second; bench/README.md, issue 13's twelfth round).
# The TLS proxy in front of the desk logs every request already, so it is off unless
# GUNICORN_ACCESS_LOG names a file ("-": standard output).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
