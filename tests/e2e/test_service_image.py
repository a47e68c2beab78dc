"""A model service in an image, end to end: examples/services/tiny-llama-image.yaml through
the real `suanli up` server, the local engine running the llama.cpp server in the image
suanli/llama-cpu from the platform's registry (built here by scripts/images-build.sh after
scripts/inference.sh, never pulled from outside), called through the gateway with an API
key. The replica is a container in its tenant's own user namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from suanli.engines import userns
from tests.conftest import wait_until
from tests.e2e.server import Server, kill_leftover_runs

REGISTRY = os.environ.get("SUANLI_REGISTRY", "")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        (not REGISTRY or shutil.which("podman") is None) and not os.environ.get("CI"),
        reason="needs podman and SUANLI_REGISTRY (scripts/registry-up.sh, images-build.sh)",
    ),
]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "services" / "tiny-llama-image.yaml"
IMAGE = "suanli/llama-cpu:0.3.36"
PUBLISHER, CALLER = "haidian-vision", "demo"
TIMEOUT_S = 240.0  # only a failing test waits this long (a first pull, llama.cpp's load)


def _image_in_registry() -> bool:
    name, tag = IMAGE.split(":")
    try:
        r = httpx.get(
            f"http://{REGISTRY}/v2/{name}/manifests/{tag}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            timeout=5,
            trust_env=False,
        )
    except httpx.HTTPError:
        return False
    return r.status_code == 200


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    if not _image_in_registry() and not os.environ.get("CI"):
        pytest.skip(f"{IMAGE} is not in {REGISTRY} (scripts/inference.sh, images-build.sh)")
    data = tmp_path / "data"
    running = Server(data)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        kill_leftover_runs(data)
        for run_dir in data.glob("runs/*/*"):  # the replicas' containers, by their run keys
            subprocess.run(
                ["podman", "rm", "-f", "--ignore", run_dir.name], capture_output=True, check=False
            )


def _containers(image: str) -> list[dict[str, str]]:
    done = subprocess.run(
        ["podman", "ps", "--format", "json", "--filter", "label=suanli.run"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [c for c in json.loads(done.stdout or "[]") if c.get("Image", "").endswith(image)]


def test_the_image_service_answers_through_the_gateway_in_its_own_user_namespace(
    server: Server,
) -> None:
    done = server.cli("serve", "up", str(EXAMPLE), "--tenant", PUBLISHER, "--json")
    assert done.returncode == 0, done.stderr
    server.cli("org", "add", CALLER, "--kind", "tenant")  # already known to some servers
    made = server.cli("apikey", "create", "e2e-image", "--tenant", CALLER, "--json")
    assert made.returncode == 0, made.stderr
    key = {"Authorization": f"Bearer {json.loads(made.stdout)['key']}"}
    body = {
        "model": "tiny-llama-image",
        "messages": [{"role": "user", "content": "算力 in an image"}],
        "max_tokens": 8,
        "temperature": 0,
        "seed": 7,
    }
    with httpx.Client(base_url=server.url, trust_env=False, timeout=TIMEOUT_S) as client:

        def answered() -> httpx.Response | None:
            r = client.post("/v1/chat/completions", json=body, headers=key)
            return r if r.status_code == 200 else None

        answer = wait_until(answered, timeout=TIMEOUT_S, every=2.0)
    reply = answer.json()
    assert reply["choices"][0]["message"]["role"] == "assistant"
    assert reply["usage"]["prompt_tokens"] > 0
    # The replica is the image's container (from the platform's registry), not a host process.
    (container,) = _containers(IMAGE)
    assert container["Image"] == f"{REGISTRY}/{IMAGE}"
    pid = subprocess.run(
        ["podman", "inspect", "--format", "{{.State.Pid}}", container["Names"][0]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    first = int(Path(f"/proc/{pid}/uid_map").read_text().split()[1])
    if os.geteuid() == 0:  # the publisher's own range: not host root, not a host user
        assert first >= userns.FIRST
    status = server.cli("serve", "status", "tiny-llama-image", "--tenant", PUBLISHER)
    assert status.returncode == 0, status.stderr
    assert "tiny-llama-image" in status.stdout
