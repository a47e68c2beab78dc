"""What the gateway sends a replica to count a stream's prompt, and what it accepts back."""

from __future__ import annotations

import json

import pytest

from suanli.gateway.prompt_count import counting_body, prompt_tokens_of


def test_the_counting_request_is_the_same_request_whole_and_one_token_long() -> None:
    asked = {
        "model": "tiny",
        "messages": [{"role": "user", "content": "算力 调度"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 512,
        "max_completion_tokens": 512,
        "n": 4,
        "temperature": 0,
    }
    sent = counting_body(json.dumps(asked).encode())
    assert sent is not None
    assert json.loads(sent) == {
        "model": "tiny",
        "messages": [{"role": "user", "content": "算力 调度"}],
        "stream": False,
        "max_tokens": 1,
        "n": 1,
        "temperature": 0,
    }


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"text"'])
def test_a_body_no_server_could_count_is_not_sent(body: bytes) -> None:
    assert counting_body(body) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b'{"usage": {"prompt_tokens": 14, "completion_tokens": 1}}', 14),
        (b'{"usage": {"prompt_tokens": 0}}', 0),
        (b'{"usage": {"prompt_tokens": -3}}', None),
        (b'{"usage": {"prompt_tokens": true}}', None),
        (b'{"usage": {"prompt_tokens": "14"}}', None),
        (b'{"usage": {"prompt_tokens": 14.0}}', None),
        (b'{"usage": null}', None),
        (b'{"choices": []}', None),
        (b"[]", None),
        (b"<html>502</html>", None),
    ],
)
def test_only_a_whole_non_negative_count_is_taken(answer: bytes, expected: int | None) -> None:
    assert prompt_tokens_of(answer) == expected
