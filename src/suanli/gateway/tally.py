"""Counting the tokens of one answer: the server's own ``usage`` when it sends one,
otherwise what the gateway saw generated (``counted_by="gateway"``).

A stream is cut into server-sent events as it passes; an event is forwarded as soon as it
is complete. The usage-only event the gateway asked for (``stream_options.include_usage``)
is dropped when the caller did not ask for it, so a client sees the stream it requested.
The gateway's own count is one token per event carrying generated text (OpenAI-compatible
servers send one token per event), and for a whole answer without ``usage`` the words of
the generated text: an estimate, marked as the gateway's.
"""

from __future__ import annotations

import json
import re
from typing import Any

from suanli.domain.serving import Counter

_EVENT_END = re.compile(rb"\r?\n\r?\n")


class Tally:
    def __init__(self, keep_usage_event: bool = True) -> None:
        self.keep_usage_event = keep_usage_event
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.counted_by: Counter = "gateway"
        self.generated_events = 0
        self._pending = b""

    # -- streams -------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> bytes:
        """The complete events of the stream so far that go on to the caller."""
        data = self._pending + chunk
        out: list[bytes] = []
        start = 0
        for end in _EVENT_END.finditer(data):
            event = data[start : end.end()]
            start = end.end()
            if self._event(event):
                out.append(event)
        self._pending = data[start:]
        return b"".join(out)

    def rest(self) -> bytes:
        """What was left after the last complete event (a server that ended mid-event)."""
        rest, self._pending = self._pending, b""
        return rest

    def _event(self, event: bytes) -> bool:
        """Account for one event; False when it is dropped."""
        payload = b"".join(
            line[5:].strip() for line in event.splitlines() if line.startswith(b"data:")
        )
        if not payload or payload == b"[DONE]":
            return True
        try:
            obj = json.loads(payload)
        except ValueError:
            return True
        if not isinstance(obj, dict):
            return True
        choices = obj.get("choices")
        if isinstance(choices, list):
            self.generated_events += sum(1 for c in choices if _generated_text(c))
        if self._usage(obj.get("usage")):
            return self.keep_usage_event or bool(choices)
        return True

    def finish_stream(self) -> None:
        if self.counted_by == "gateway":
            self.completion_tokens = self.generated_events

    # -- whole answers -------------------------------------------------------------------
    def whole(self, body: bytes) -> None:
        try:
            obj = json.loads(body)
        except ValueError:
            return
        if not isinstance(obj, dict) or self._usage(obj.get("usage")):
            return
        choices = obj.get("choices")
        if isinstance(choices, list):
            self.completion_tokens = sum(len(_generated_text(c).split()) for c in choices)

    def _usage(self, usage: Any) -> bool:
        if not isinstance(usage, dict):
            return False
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens", 0)
        if not isinstance(prompt, int) or not isinstance(completion, int):
            return False
        self.prompt_tokens, self.completion_tokens = max(prompt, 0), max(completion, 0)
        self.counted_by = "server"
        return True


def _generated_text(choice: Any) -> str:
    if not isinstance(choice, dict):
        return ""
    delta = choice.get("delta")
    message = choice.get("message")
    for part in (delta, message):
        if isinstance(part, dict) and isinstance(part.get("content"), str):
            return str(part["content"])
    text = choice.get("text")
    return text if isinstance(text, str) else ""
