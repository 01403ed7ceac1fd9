"""Celery tasks of the channels: thin wrappers that take ids and call the services."""

from celery import shared_task
from django.db import DatabaseError

from .inbound import inbound_process, inbound_requeue_stale


@shared_task(
    name="channels_app.process_inbound_record",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    soft_time_limit=60,
    time_limit=90,
)
def process_inbound_record(record_id: int) -> str:
    """Process one stored inbound record; return its resulting status."""
    return inbound_process(record_id).status


@shared_task(name="channels_app.requeue_stale_inbound", soft_time_limit=60, time_limit=90)
def requeue_stale_inbound() -> int:
    """Re-queue records left waiting (broker outage, lost worker); return how many."""
    return inbound_requeue_stale()
