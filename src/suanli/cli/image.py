"""``suanli image``: the platform's image registry (a region's mirror) from the command line.

``list`` and ``inspect`` read the registry's HTTP API v2 (OCI distribution) with httpx;
``push`` hands a local image to podman (``podman push``), the tool that owns image layers.
The registry is ``--registry HOST:PORT`` or ``SUANLI_REGISTRY`` (scripts/registry-up.sh).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from suanli.cli.context import JsonOpt, print_json

if TYPE_CHECKING:
    import httpx

app = typer.Typer(help="Images in the platform's registry (镜像仓库).", no_args_is_help=True)
out = Console()
MANIFESTS = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
MAX_REPOSITORIES = 1000  # CNCF Distribution refuses more per page
LOOPBACK = re.compile(r"^(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?$")  # plain HTTP there

RegistryOpt = Annotated[
    str | None,
    typer.Option("--registry", help="HOST:PORT of the registry (default: $SUANLI_REGISTRY)"),
]


def _base(registry: str | None) -> str:
    address = registry or os.environ.get("SUANLI_REGISTRY")
    if not address:
        raise typer.BadParameter(
            "no registry: pass --registry HOST:PORT or set SUANLI_REGISTRY / "
            "未指定镜像仓库：请用 --registry HOST:PORT 或设置 SUANLI_REGISTRY"
        )
    scheme = "http" if LOOPBACK.match(address) else "https"
    return f"{scheme}://{address}"


def _get(url: str, **headers: str) -> httpx.Response:
    import httpx

    try:
        response = httpx.get(url, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        out.print(f"registry unreachable / 镜像仓库无法访问: {exc}", markup=False)
        raise typer.Exit(2) from exc
    if response.status_code == 404:
        out.print(f"not found / 未找到: {url}", markup=False)
        raise typer.Exit(1)
    if response.status_code >= 400:
        detail = response.text[:300]
        out.print(
            f"registry refused / 镜像仓库拒绝: {response.status_code} {detail}", markup=False
        )
        raise typer.Exit(1)
    return response


@app.command("list")
def list_images(registry: RegistryOpt = None, as_json: JsonOpt = False) -> None:
    """Repositories and their tags."""
    base = _base(registry)
    names = _get(f"{base}/v2/_catalog?n={MAX_REPOSITORIES}").json().get("repositories") or []
    found = {n: sorted(_get(f"{base}/v2/{n}/tags/list").json().get("tags") or []) for n in names}
    if as_json:
        print_json(found)
        return
    table = Table("image / 镜像", "tags / 标签")
    for name, tags in found.items():
        table.add_row(name, ", ".join(tags))
    out.print(table)


@app.command()
def inspect(
    reference: Annotated[str, typer.Argument(help="NAME:TAG or NAME@sha256:...")],
    registry: RegistryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The digest, layers and size of one image (JSON either way)."""
    name, sep, ref = reference.rpartition("@") if "@" in reference else reference.rpartition(":")
    if not sep or not name:
        raise typer.BadParameter(f"{reference!r}: expected NAME:TAG or NAME@sha256:<digest>")
    response = _get(f"{_base(registry)}/v2/{name}/manifests/{ref}", Accept=MANIFESTS)
    manifest: dict[str, Any] = response.json()
    layers = manifest.get("layers") or []
    info = {
        "name": name,
        "reference": ref,
        "digest": response.headers.get("Docker-Content-Digest"),
        "media_type": manifest.get("mediaType") or response.headers.get("Content-Type"),
        "layers": len(layers),
        "size_bytes": sum(int(layer.get("size", 0)) for layer in layers),
    }
    if as_json:
        print_json(info)
    else:
        out.print_json(json.dumps(info))


@app.command()
def push(
    local: Annotated[str, typer.Argument(help="a local podman image, e.g. localhost/train:1")],
    target: Annotated[str, typer.Argument(help="NAME:TAG in the registry")],
    registry: RegistryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Push a local image (podman's store) to the registry as NAME:TAG."""
    base = _base(registry)
    podman = shutil.which("podman")
    if podman is None:
        out.print("podman is not installed / 未安装 podman (apt-get install podman)")
        raise typer.Exit(2)
    address = base.split("://", 1)[1]
    argv = [podman, "push", f"--tls-verify={str(base.startswith('https')).lower()}"]
    done = subprocess.run([*argv, local, f"{address}/{target}"], check=False)
    if done.returncode != 0:
        raise typer.Exit(done.returncode)
    inspect(target, registry, as_json)
