"""Schemathesis over the whole API of a real server, as the operator and as a tenant admin.

Starts `suanli up --api-only` in a temporary directory, makes a tenant admin of ``demo``
(organisation, user, token, through the API), and runs ``st run`` once per token with the
checks of issue 17: no 5xx, statuses, content types, headers and bodies as documented,
schema-valid requests not refused (ST202), schema-violating requests not accepted (ST201),
405 with an ``Allow`` header naming every method of the path (unsupported_method).

A 422 the schema cannot state (a name that does not exist, a rule across fields, a YAML text
that is no job, a token outliving its maker) is not a mismatch: ``UNSTATED_RULES`` lists the
operations whose 422s are such rules, each with the reason (suanli.api.rules, written into
the OpenAPI document too), as schemathesis' own guide suggests (``expected-statuses``). Prints the counts per token and the target of issue 17.

    .venv/bin/python bench/openapi_conformance.py [--max-examples 10] [--seed 20261207]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

from suanli.api.rules import UNSTATED_RULES
from suanli.domain.clock import SystemClock

CLOCK = SystemClock()
BIN = Path(sys.executable).parent
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,positive_data_acceptance,"
    "negative_data_rejection,unsupported_method"
)


def config() -> str:
    lines = []
    for name in UNSTATED_RULES:
        lines += [
            "[[operations]]",
            f'include-name = "{name}"',
            "checks.positive_data_acceptance.expected-statuses = "
            '["2xx", "401", "403", "404", "409", "422", "429"]',
            "",
        ]
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(port: int, method: str, path: str, token: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
        data: dict[str, object] = json.loads(answer.read())
        return data


def start(data_dir: Path) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    log = (data_dir.parent / "server.log").open("wb")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.Popen(
        [
            str(BIN / "suanli"),
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--api-only",
            "--rate-limit",
            "1000000",
        ],
        stdout=log,
        stderr=log,
        env=env,
    )
    pause = threading.Event()
    end = CLOCK.monotonic() + 120
    while CLOCK.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"suanli up exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return port, proc
        except OSError:
            pause.wait(0.3)
    proc.kill()
    raise SystemExit("server did not come up")


def run_st(port: int, token: str, args: argparse.Namespace, folder: Path) -> dict[str, int]:
    toml = folder / "schemathesis.toml"
    toml.write_text(config())
    command = [
        str(BIN / "st"),
        "--config-file",
        str(toml),
        "--no-color",
        "run",
        f"http://127.0.0.1:{port}/api/v1/openapi.json",
        "-H",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=folder)
    out = done.stdout + done.stderr
    (folder / f"st-{len(list(folder.glob('st-*')))}.txt").write_text(out)
    counts = {
        m[0]: int(m[2]) for m in re.findall(r"(ST\d+|Server error)[^:\n]*?(\s.*)?: (\d+)", out)
    }
    generated = re.search(r"(\d+) generated", out)
    counts["generated"] = int(generated[1]) if generated else 0
    counts["failures"] = sum(v for k, v in counts.items() if k not in ("generated",))
    for line in out.splitlines():
        if line.startswith(("___", "- ST", "    curl", "[4", "[5")) or "Server error" in line:
            print("   ", line.strip("_ "))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data_dir = folder / "data"
        data_dir.mkdir()
        port, proc = start(data_dir)
        try:
            operator = (data_dir / "operator.token").read_text().strip()
            call(
                port, "POST", "/api/v1/organisations", operator, {"name": "demo", "kind": "tenant"}
            )
            user = {"name": "ada", "organisation": "demo", "role": "tenant_admin"}
            call(port, "POST", "/api/v1/users", operator, user)
            admin = str(
                call(port, "POST", "/api/v1/tokens", operator, {"user": "ada", "days": 30})[
                    "token"
                ]
            )
            results = {
                who: run_st(port, token, args, folder)
                for who, token in (("operator", operator), ("tenant admin", admin))
            }
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    for who, counts in results.items():
        found = ", ".join(
            f"{k} {v}" for k, v in counts.items() if k not in ("generated", "failures")
        )
        print(
            f"{who:<13} {counts['generated']} requests generated; failures {counts['failures']}"
            + (f" ({found})" if found else "")
        )
    total = sum(c["failures"] for c in results.values())
    print(
        f"target: 0 5xx and 0 schema mismatches over both tokens: {'met' if total == 0 else 'not met'}"
    )


if __name__ == "__main__":
    main()
