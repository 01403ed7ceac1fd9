"""The CSRF token's mask from one random read (supportdesk/csrf.py): Django's format,
unmasked and accepted by Django's own code, uniform over the allowed characters."""

from __future__ import annotations

from collections import Counter

import pytest
from django.middleware import csrf
from django.test import Client

from supportdesk.csrf import mask_cipher_secret


def test_django_masks_with_it():
    assert csrf._mask_cipher_secret is mask_cipher_secret


def test_a_masked_token_unmasks_to_the_secret_with_djangos_code():
    secret = csrf._get_new_csrf_string()
    tokens = {mask_cipher_secret(secret) for _ in range(200)}
    assert len(tokens) == 200  # a new mask every time
    for token in tokens:
        assert len(token) == 2 * csrf.CSRF_SECRET_LENGTH
        assert set(token) <= set(csrf.CSRF_ALLOWED_CHARS)
        assert csrf._unmask_cipher_token(token) == secret
        csrf._check_token_format(token)  # raises if Django would refuse its format


def test_the_mask_favours_no_character():
    # byte % 62 without dropping bytes >= 248 would draw the first 8 characters 25 % more
    # often (5 bytes each of 256, not 4): at 10,000 per character, far outside this band.
    counts = Counter("".join(mask_cipher_secret("a" * 32)[:32] for _ in range(20_000)))
    expected = 20_000 * 32 / len(csrf.CSRF_ALLOWED_CHARS)
    assert set(counts) == set(csrf.CSRF_ALLOWED_CHARS)
    assert all(0.93 * expected < n < 1.07 * expected for n in counts.values()), counts


@pytest.mark.django_db
def test_a_form_posted_with_the_pages_token_is_accepted_and_without_it_refused():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    form = {"username": "nobody", "password": "wrong"}
    assert browser.post("/admin/login/", {**form, "csrfmiddlewaretoken": token}).status_code == 200
    assert browser.post("/admin/login/", form).status_code == 403
