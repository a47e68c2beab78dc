"""The prompt tokens of a stream whose server sent no ``usage``, counted by that server.

llama-cpp-python's server (0.3.36) ignores ``stream_options.include_usage``: its streams
carry no usage, so the gateway sees the generated tokens (one per event) but not the
prompt's. The prompt's count depends on the replica's tokenizer and, for a chat request,
on its chat template (the messages are rendered to text, special tokens and all, before
they are tokenized); the server's ``/extras/tokenize/count`` tokenizes raw text only, and
no endpoint renders the template. So the gateway asks the server to count what it
counted: after the stream has ended (the caller has its whole answer) it sends the same
request to the same replica once more, not streamed and with ``max_tokens: 1``, and takes
the answer's ``usage.prompt_tokens``: the server's own count of the same prompt, exact.

Its cost, paid off the caller's path: one more request on the replica, whose prompt the
server evaluates again (llama.cpp keeps the previous request's tokens, so an unchanged
prompt is mostly reused when no other request came between) and one generated token.
When the replica cannot answer (gone, an error, no ``usage``), the prompt stays 0 and the
event says so in the log: never an invented count.
"""

from __future__ import annotations

import json
import logging

from suanli.gateway.http1 import Http1Pool, ReplicaLost, ReplicaTimeout

log = logging.getLogger("suanli.gateway")

MAX_ANSWER_BYTES = 1024 * 1024  # a one-token answer; more is not the answer we asked for


def counting_body(body: bytes) -> bytes | None:
    """The request to count ``body``'s prompt with: not streamed, one token. None when
    ``body`` is not a JSON object (nothing a server could have counted)."""
    try:
        request = json.loads(body)
    except ValueError:
        return None
    if not isinstance(request, dict):
        return None
    request.pop("stream_options", None)
    request["stream"] = False
    request["max_tokens"] = 1
    request.pop("max_completion_tokens", None)
    request["n"] = 1
    return json.dumps(request, ensure_ascii=False).encode()


def prompt_tokens_of(answer: bytes) -> int | None:
    """``usage.prompt_tokens`` of a whole answer, or None."""
    try:
        obj = json.loads(answer)
    except ValueError:
        return None
    usage = obj.get("usage") if isinstance(obj, dict) else None
    prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    if isinstance(prompt, bool) or not isinstance(prompt, int) or prompt < 0:
        return None
    return prompt


async def count_prompt(
    pool: Http1Pool,
    replica_url: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> int | None:
    """The replica's own count of the prompt of the request ``body`` sent to ``path``."""
    counting = counting_body(body)
    if counting is None:
        return None
    try:
        response = await pool.request("POST", replica_url, path, headers, counting)
        try:
            answer = await response.read()
        finally:
            response.release()
    except (ReplicaLost, ReplicaTimeout, OSError) as exc:
        log.warning("prompt count on %s failed: %s", replica_url, exc)
        return None
    if response.status >= 400 or len(answer) > MAX_ANSWER_BYTES:
        log.warning("prompt count on %s answered %s", replica_url, response.status)
        return None
    found = prompt_tokens_of(answer)
    if found is None:
        log.warning("prompt count on %s: no usage in the answer", replica_url)
    return found
