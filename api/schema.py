"""How the OpenAPI schema describes the two ways integrations authenticate."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.IntegrationTokenAuthentication"
    name = "IntegrationToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`; tokens are issued per integration in the admin.",
        }


class HmacScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.HmacSignatureAuthentication"
    name = "HmacSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-SupportDesk-Signature",
            "description": (
                "`sha256=<hex>` = HMAC-SHA256(secret, `<timestamp>\\n<METHOD>\\n<path>\\n"
                "<query string>\\n<raw body>`), with `X-SupportDesk-Integration: <name>` and "
                "`X-SupportDesk-Timestamp: <Unix seconds>` within 5 minutes; each signature "
                "is accepted once."
            ),
        }


ERROR = {
    "type": "object",
    "description": "`detail`, or one list of messages per field that was refused.",
    "additionalProperties": True,
    "properties": {"detail": {"type": "string"}},
}
_ERRORS = {
    "400": "Bad input: a message per field, or `detail`.",
    "401": "Missing, unknown or wrong credentials; a stale or replayed signature.",
    "403": "This integration lacks the permission.",
    "404": "No such ticket, or an invalid cursor.",
    "409": "This id was already sent with other content.",
    "415": "Send `Content-Type: application/json`.",
    "422": "Stored, but processing refused it (`?sync=1`); `error` says why.",
    "429": "Too many requests: wait `Retry-After` seconds.",
}


def add_error_responses(result: dict, generator, request, public) -> dict:
    """Document the errors the API answers besides the 2xx drf-spectacular lists, and
    what it refuses that the serializers' schema would allow (blank text)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            codes = ["400", "401", "403", "429"]
            if method == "post":
                codes.append("415")
            if "{reference}" in path or (method == "get" and path.endswith("/tickets/")):
                codes.append("404")
            if "/channels/" in path:
                codes += ["409", "422"]
            for code in codes:
                operation["responses"].setdefault(
                    code,
                    {
                        "description": _ERRORS[code],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    _no_blank_text(components)
    return result


def _no_blank_text(components: dict) -> None:
    """Text fields that refuse blank (or all-space) values say so in the schema."""
    from . import serializers as s

    for name, serializer in (
        ("ChatLineIn", s.ChatLineIn),
        ("CallIn", s.CallIn),
        ("TicketIn", s.TicketIn),
    ):
        properties = components.get(name, {}).get("properties", {})
        for field_name, field in serializer().fields.items():
            prop = properties.get(field_name)
            if prop is None or prop.get("type") != "string" or "format" in prop or "enum" in prop:
                continue
            if getattr(field, "allow_blank", True) is False and "pattern" not in prop:
                prop["minLength"] = max(prop.get("minLength", 0), 1)
                prop["pattern"] = r"\S"
