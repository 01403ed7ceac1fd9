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
