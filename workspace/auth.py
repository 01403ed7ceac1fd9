"""The staff login's backend: Django's ModelBackend, with what every workspace request
reads (the user, their workspace profile, their permissions) in three plain-SQL reads.

Agents' pages are requested all day, and the stock backend's three ORM queries (the
user; user permissions; group permissions, each joined to content types) plus the
profile cost more CPU than a list of 50 tickets (bench/desk.py). The permissions are the
same set ModelBackend gives, read in one plain SQL statement; anything else (superusers,
object permissions, authentication itself) is ModelBackend's own code.

What it read is **kept per worker**, per user, and used again while the sign-in version
read with the session (supportdesk/signin.py: moved by any change of a user, group,
permission or agent profile) is the one it was read under, for at most
``SUPPORTDESK_SIGNIN_KEEP_SECONDS``: a kept counts poll then makes no statement to sign in.
Each request gets its own copies (a view may change what it was given).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import JSONField
from django.db.models.base import ModelState

from supportdesk import signin

from .models import AgentProfile

_KEPT_MAX = 2000  # users kept per worker (the oldest kept is dropped first)


@dataclass(slots=True, frozen=True)
class _Kept:
    version: str
    until: float  # time.monotonic()
    user: Any  # never handed out itself: each request gets copies
    profile: AgentProfile | None
    permissions: frozenset[str] | None


_kept: dict[Any, _Kept] = {}


def forget_kept() -> None:
    """Drop every kept user of this process (tests)."""
    _kept.clear()


_MUTABLE: dict[type, tuple[str, ...]] = {}


def _mutable_attnames(model: type) -> tuple[str, ...]:
    """The model's attributes that may hold a list or a dict (JSON fields)."""
    names = _MUTABLE.get(model)
    if names is None:
        fields = model._meta.concrete_fields  # type: ignore[attr-defined]
        names = _MUTABLE[model] = tuple(f.attname for f in fields if isinstance(f, JSONField))
    return names


def _copy(instance: Any) -> Any:
    """A copy of a model instance as the database gave it: its own state and no cached
    relations (cheaper than copy.copy, which pickles)."""
    made = object.__new__(type(instance))
    made.__dict__.update(instance.__dict__)
    state = ModelState()
    state.db, state.adding = instance._state.db, False
    made._state = state
    for name in _mutable_attnames(type(instance)):  # JSON lists and objects
        value = made.__dict__.get(name)
        if isinstance(value, list | dict):
            made.__dict__[name] = _thawed(value)
    return made


def _thawed(value: Any) -> Any:
    """A copy of a JSON value's lists and objects (copy.deepcopy is ~10 times slower)."""
    if isinstance(value, list):
        return [_thawed(v) for v in value]
    if isinstance(value, dict):
        return {k: _thawed(v) for k, v in value.items()}
    return value


def _handed_out(kept: _Kept) -> Any:
    user = _copy(kept.user)
    if kept.profile is not None:
        user.desk_profile = _copy(kept.profile)
    if kept.permissions is not None:
        user._perm_cache = set(kept.permissions)
    return user


# The statements and column lists depend only on the models: built once per process, not
# on every request (each build walks the models' metadata).
@cache
def _permissions_sql() -> str:
    user_model = get_user_model()
    direct = user_model._meta.get_field("user_permissions")
    groups = user_model._meta.get_field("groups")
    group_perms = Group._meta.get_field("permissions")
    # Table and column names come from the models' metadata, never from input.
    return (
        f'SELECT ct."app_label", p."codename" FROM "{Permission._meta.db_table}" p '  # noqa: S608
        f'JOIN "{ContentType._meta.db_table}" ct ON ct."id" = p."content_type_id" '
        f'WHERE p."id" IN (SELECT "{direct.m2m_reverse_name()}" '
        f'FROM "{direct.m2m_db_table()}" WHERE "{direct.m2m_column_name()}" = %s '
        f'UNION SELECT gp."{group_perms.m2m_reverse_name()}" '
        f'FROM "{group_perms.m2m_db_table()}" gp '
        f'JOIN "{groups.m2m_db_table()}" ug '
        f'ON ug."{groups.m2m_reverse_name()}" = gp."{group_perms.m2m_column_name()}" '
        f'WHERE ug."{groups.m2m_column_name()}" = %s)'
    )


@cache
def _profile_columns() -> tuple[str, ...]:
    return tuple(f.column for f in AgentProfile._meta.concrete_fields if f.column)


@cache
def _user_sql(vendor: str) -> str:
    """The user, their workspace profile (``desk_p_*`` columns, NULL if none) and their
    permissions ("app.codename" joined by commas) in one statement."""
    user_model = get_user_model()
    table, key = user_model._meta.db_table, str(user_model._meta.pk.column)
    aggregate = "group_concat" if vendor == "sqlite" else "string_agg"
    permissions = (
        _permissions_sql()
        .replace(
            'SELECT ct."app_label", p."codename"',
            f"SELECT {aggregate}(ct.\"app_label\" || '.' || p.\"codename\", ',')",
            1,
        )
        .replace("= %s", '= u."{key}"'.replace("{key}", key))
    )
    profile = ", ".join(f'dp."{c}" AS "desk_p_{c}"' for c in _profile_columns())
    # Names come from the models' metadata, never from input.
    return (
        f'SELECT u.*, {profile}, ({permissions}) AS "desk_permissions" '  # noqa: S608
        f'FROM "{table}" u LEFT JOIN "{AgentProfile._meta.db_table}" dp '
        f'ON dp."user_id" = u."{key}" WHERE u."{key}" = %s'
    )


class AgentBackend(ModelBackend):
    """ModelBackend reading the user, their workspace profile and all their permissions
    in one statement, without the ORM's query building."""

    def get_user(self, user_id: Any) -> Any:
        version = signin.current()
        if version is None or settings.SUPPORTDESK_SIGNIN_KEEP_SECONDS <= 0:
            return self._read_user(user_id)
        kept = _kept.get(user_id)
        now = time.monotonic()
        if kept is not None and kept.version == version and now < kept.until:
            return _handed_out(kept)
        user = self._read_user(user_id)
        if user is None:
            _kept.pop(user_id, None)
            return None
        if len(_kept) >= _KEPT_MAX and user_id not in _kept:
            del _kept[next(iter(_kept))]
        profile = user._state.fields_cache.get("desk_profile")
        perms = getattr(user, "_perm_cache", None)
        _kept[user_id] = _Kept(
            version=version,
            until=now + settings.SUPPORTDESK_SIGNIN_KEEP_SECONDS,
            user=_copy(user),
            profile=None if profile is None else _copy(profile),
            permissions=None if perms is None else frozenset(perms),
        )
        return user

    def _read_user(self, user_id: Any) -> Any:
        from .reads import instances_and_extras

        found = instances_and_extras(get_user_model(), _user_sql(connection.vendor), [user_id])
        if not found:
            return None
        user, extras = found[0]
        if not self.user_can_authenticate(user):
            return None
        values = [extras[f"desk_p_{c}"] for c in _profile_columns()]
        if values[0] is not None:
            fields = AgentProfile._meta.concrete_fields
            # Extra columns of a raw query get no field converters: decode JSON here.
            decoded = [
                # JSONField.from_db_value ignores its expression argument.
                f.from_db_value(v, None, connection) if isinstance(f, JSONField) else v  # type: ignore[arg-type]
                for f, v in zip(fields, values, strict=True)
            ]
            names = [f.attname for f in fields]
            profile = AgentProfile.from_db(connection.alias, names, decoded)
            user.desk_profile = profile  # what workspace.access.agent_profile reads
        if user.is_active and not user.is_superuser:
            # The same set ModelBackend.get_all_permissions caches (in its own attribute),
            # for this request.
            text = extras["desk_permissions"] or ""
            user._perm_cache = set(text.split(",")) if text else set()
        return user

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if (
            not user_obj.is_active
            or user_obj.is_anonymous
            or obj is not None
            or user_obj.is_superuser
        ):
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                cursor.execute(_permissions_sql(), [user_obj.pk, user_obj.pk])
                user_obj._perm_cache = {f"{app}.{codename}" for app, codename in cursor}
        return user_obj._perm_cache
