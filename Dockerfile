# Production image: one image for web (gunicorn), worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SUPPORTDESK_ENV=production SUPPORTDESK_VAR_DIR=/var/lib/supportdesk
WORKDIR /app

COPY pyproject.toml README.md ./
COPY supportdesk ./supportdesk
COPY tickets ./tickets
COPY channels_app ./channels_app
COPY sla ./sla
COPY portal ./portal
COPY kb ./kb
COPY api ./api
COPY duplicates ./duplicates
COPY webcache ./webcache
COPY workspace ./workspace
COPY outbox ./outbox
COPY search ./search
COPY csat ./csat
COPY reports ./reports
COPY mailboxes ./mailboxes
COPY templates ./templates
COPY manage.py ./
RUN pip install . && useradd --system --home-dir /app supportdesk \
    && mkdir -p /var/lib/supportdesk && chown supportdesk /var/lib/supportdesk
# collectstatic needs settings that pass the production checks; these values are build-only.
RUN SECRET_KEY=build-only-secret-key-not-used-at-runtime-000 ALLOWED_HOSTS=build DEBUG=0 \
    ANYMAIL_WEBHOOK_SECRET=build:only STATIC_ROOT=/app/static \
    python manage.py collectstatic --noinput
USER supportdesk
EXPOSE 8000
CMD ["gunicorn", "supportdesk.wsgi", "-c", "supportdesk/gunicorn.conf.py", "--bind", "0.0.0.0:8000", "--workers", "3"]
