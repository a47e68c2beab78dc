"""Errors in OpenAI's format: ``{"error": {"message", "type", "param", "code"}}``, in zh or en."""

from __future__ import annotations

import json

from suanli.domain.i18n import Lang, render

# HTTP status -> OpenAI's error type for it
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    502: "server_error",
    503: "server_error",
    504: "server_error",
}


class GatewayError(Exception):
    """A refusal or failure the caller is told about in OpenAI's error format."""

    def __init__(
        self,
        status: int,
        code: str,
        message_code: str,
        param: str | None = None,
        retry_after_s: float | None = None,
        **params: object,
    ) -> None:
        super().__init__(message_code)
        self.status = status
        self.code = code
        self.message_code = message_code
        self.param = param
        self.retry_after_s = retry_after_s
        self.params = params

    def body(self, lang: Lang) -> bytes:
        return error_body(
            self.status, self.code, render(self.message_code, lang, **self.params), self.param
        )

    def headers(self) -> list[tuple[bytes, bytes]]:
        if self.retry_after_s is None:
            return []
        return [(b"retry-after", str(max(1, round(self.retry_after_s + 0.499))).encode())]


def error_body(status: int, code: str, message: str, param: str | None = None) -> bytes:
    err = {
        "message": message,
        "type": _TYPES.get(status, "server_error"),
        "param": param,
        "code": code,
    }
    return json.dumps({"error": err}, ensure_ascii=False).encode()


def sse_error(code: str, message: str) -> bytes:
    """The last event of a stream cut short, as OpenAI's streams report an error."""
    err = {"message": message, "type": "server_error", "param": None, "code": code}
    return b"data: " + json.dumps({"error": err}, ensure_ascii=False).encode() + b"\n\n"
