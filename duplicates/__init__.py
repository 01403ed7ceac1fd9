"""Cross-channel duplicate detection (issue 6).

Pipeline: ``tickets.signals.ticket_events`` (created; inbound message on a young ticket)
→ ``receivers`` queues ``tasks.detect_many`` after commit → ``services.duplicates_detect``:
``normalize`` + ``text`` + ``identifiers`` → ``features`` (tokens, identifiers, MinHash)
→ retrieval keys (LSH bands and identifiers, namespaced by account/contact) filed in the
indexed ``DuplicateBand`` table → candidates by key lookup plus the contact's recent
tickets → ``scoring.compare`` (score and reasons) → ``DuplicateFlag`` + internal note +
mail to assignees; exact re-sends merged via ``tickets.services.ticket_merge``.
The pure modules (normalize, text, identifiers, minhash, features, scoring) import no
Django. ``manage.py duplicates_eval`` measures the detector on labelled pairs.
"""
