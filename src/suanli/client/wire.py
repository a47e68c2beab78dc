"""HTTP for the thin client, on the standard library.

Not httpx: `import httpx` also imports its own command line (click, rich.progress, pygments),
about as long again as the rest of `suanli status` (bench/cli_speed.py). urllib keeps what
the CLI needs: proxies from the environment (HTTP(S)_PROXY, NO_PROXY), HTTPS with the
system's certificates, a timeout, and a body read as it arrives for `logs --follow`.
"""

from __future__ import annotations

import errno
import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from typing import Any
from urllib.parse import urlencode

CHUNK = 65536
LOOPBACK = frozenset({"localhost", "::1"})


class WireError(Exception):
    """The server could not be reached or the connection broke; ``kind`` says why in a word
    the CLI words in the reader's language (refused, name, timeout, tls, broken, scheme),
    ``errno`` the system's symbol where there is one."""

    def __init__(self, detail: str, kind: str = "broken", errno: str = "") -> None:
        super().__init__(detail)
        self.kind = kind
        self.errno = errno


def _why(exc: BaseException) -> WireError:
    reason = getattr(exc, "reason", None)
    cause = reason if isinstance(reason, BaseException) else exc
    detail = str(cause) or type(cause).__name__
    number = getattr(cause, "errno", None)
    symbol = errno.errorcode.get(number, "") if isinstance(number, int) else ""
    if isinstance(cause, ConnectionRefusedError):
        return WireError(detail, "refused", symbol)
    if isinstance(cause, socket.gaierror):
        return WireError(detail, "name", symbol)
    if isinstance(cause, TimeoutError):
        return WireError(detail, "timeout", symbol)
    if isinstance(cause, ssl.SSLError | ssl.CertificateError):
        return WireError(detail, "tls", symbol)
    return WireError(detail, "broken", symbol or type(cause).__name__)


class Reply:
    """A whole response: status, headers, body."""

    def __init__(self, status_code: int, headers: Message, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


def query(params: dict[str, Any] | None) -> str:
    """``?a=1&b=x&b=y`` as the API reads it: lists repeat the key, booleans are true/false."""
    if not params:
        return ""
    pairs = [
        (key, _param(one))
        for key, value in params.items()
        for one in (value if isinstance(value, list | tuple) else [value])
    ]
    return "?" + urlencode(pairs)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Wire:
    """Requests to one base URL with fixed headers."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise WireError(f"{base_url}: only http:// and https:// servers", "scheme")
        self.base_url = base_url
        self.headers = headers
        self.timeout = timeout
        # A server on this machine is reached directly, whatever HTTP_PROXY says.
        host = urllib.parse.urlsplit(base_url).hostname or ""
        direct = host in LOOPBACK or host.startswith("127.")
        self._opener = urllib.request.build_opener(
            *([urllib.request.ProxyHandler({})] if direct else [])
        )

    def _request(
        self, method: str, path: str, params: dict[str, Any] | None, body: Any
    ) -> urllib.request.Request:
        data = None
        headers = dict(self.headers)
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.base_url + path + query(params), data=data, headers=headers, method=method
        )

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Reply:
        with self._open(self._request(method, path, params, json), self.timeout) as (
            status,
            response,
        ):
            try:
                return Reply(status, response.headers, response.read())
            except OSError as exc:
                raise _why(exc) from None

    @contextmanager
    def stream(
        self, method: str, path: str, params: dict[str, Any] | None = None
    ) -> Iterator[tuple[Reply, Iterator[bytes]]]:
        """The status and headers (the body read whole when >= 400), then the body's chunks
        as they arrive; no read timeout (a followed log may be quiet for long)."""
        with self._open(self._request(method, path, params, None), None) as (status, response):
            if status >= 400:
                yield Reply(status, response.headers, response.read()), iter(())
                return
            yield Reply(status, response.headers, b""), _chunks(response)

    @contextmanager
    def _open(self, request: urllib.request.Request, timeout: float | None) -> Iterator[Any]:
        try:
            response = self._opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:  # a 4xx/5xx still carries the API's error body
            response = exc
        except (OSError, ValueError) as exc:
            raise _why(exc) from None
        try:
            yield response.status, response
        finally:
            response.close()


def _chunks(response: Any) -> Iterator[bytes]:
    while True:
        try:
            chunk = response.read1(CHUNK)
        except OSError as exc:
            raise _why(exc) from None
        if not chunk:
            return
        yield chunk
