"""The staff login's backend: Django's ModelBackend, with what every workspace request
reads (the user, their workspace profile, their permissions) in three plain-SQL reads.

Agents' pages are requested all day, and the stock backend's three ORM queries (the
user; user permissions; group permissions, each joined to content types) plus the
profile cost more CPU than a list of 50 tickets (bench/desk.py). The permissions are the
same set ModelBackend gives, read in one plain SQL statement; anything else (superusers,
object permissions, authentication itself) is ModelBackend's own code.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import JSONField

from .models import AgentProfile


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
