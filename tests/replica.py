"""A small real OpenAI-compatible replica for the gateway's tests and bench (not a model).

``python -m tests.replica --port N [--no-usage] [--token-delay S]`` serves over HTTP
(uvicorn): ``/v1/chat/completions`` and ``/v1/completions`` answer ``max_tokens`` words
("tok0 tok1 ..."), whole or streamed as server-sent events with the usage event when asked
(``--no-usage``: never); ``/v1/embeddings``; ``/health``; any other path echoes what it got.
A prompt can ask for a failure, honoured by a ``--fragile`` replica only: ``die-now`` (the
process exits before answering), ``cut`` (exits after three streamed tokens); and ``slow``
(answers after 3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send


class Replica:
    def __init__(self, usage: bool, token_delay_s: float, fragile: bool = False) -> None:
        self.usage = usage
        self.token_delay_s = token_delay_s
        self.fragile = fragile  # honours die-now and cut

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        if path in ("/v1/chat/completions", "/v1/completions"):
            await self.complete(json.loads(body), path.endswith("chat/completions"), send)
        elif path == "/v1/embeddings":
            request = json.loads(body)
            words = len(str(request.get("input", "")).split())
            answer = {
                "object": "list",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}],
                "usage": {"prompt_tokens": words, "total_tokens": words},
            }
            await _json(send, 200, answer)
        elif path == "/health":
            await _json(send, 200, {"status": "ok"})
        else:
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            echo = {
                "method": scope["method"],
                "path": path,
                "query": scope["query_string"].decode(),
                "headers": headers,
                "body_bytes": len(body),
                "pid": os.getpid(),
            }
            await _json(send, 200, echo)

    async def complete(self, request: dict[str, Any], chat: bool, send: Send) -> None:
        prompt = (
            " ".join(str(m.get("content", "")) for m in request.get("messages", []))
            if chat
            else str(request.get("prompt", ""))
        )
        if self.fragile and "die-now" in prompt:
            os._exit(137)
        if "slow" in prompt:
            await asyncio.sleep(3.0)
        n = int(request.get("max_tokens") or 8)
        words = [f"tok{i} " for i in range(n)]
        usage = {
            "prompt_tokens": len(prompt.split()),
            "completion_tokens": n,
            "total_tokens": len(prompt.split()) + n,
        }
        kind = "chat.completion" if chat else "text_completion"
        if not request.get("stream"):
            choice: dict[str, Any] = (
                {"index": 0, "message": {"role": "assistant", "content": "".join(words)}}
                if chat
                else {"index": 0, "text": "".join(words)}
            )
            choice["finish_reason"] = "length"
            answer: dict[str, Any] = {"id": "cmpl-1", "object": kind, "choices": [choice]}
            if self.usage:
                answer["usage"] = usage
            await _json(send, 200, answer)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for i, word in enumerate(words):
            if i == 3 and self.fragile and "cut" in prompt:
                os._exit(137)
            part = {"delta": {"content": word}} if chat else {"text": word}
            chunk = {"id": "cmpl-1", "object": kind + ".chunk", "choices": [{"index": 0, **part}]}
            await _event(send, chunk)
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
        options = request.get("stream_options") or {}
        if self.usage and options.get("include_usage"):
            await _event(
                send, {"id": "cmpl-1", "object": kind + ".chunk", "choices": [], "usage": usage}
            )
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


async def _event(send: Send, obj: dict[str, Any]) -> None:
    data = b"data: " + json.dumps(obj).encode() + b"\n\n"
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _json(send: Send, status: int, obj: dict[str, Any]) -> None:
    body = json.dumps(obj).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-usage", action="store_true")
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--fragile", action="store_true", help="die on die-now and cut")
    args = parser.parse_args()
    app = Replica(not args.no_usage, args.token_delay, args.fragile)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="error", access_log=False)


if __name__ == "__main__":
    main()
