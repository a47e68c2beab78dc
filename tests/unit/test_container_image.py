"""Container images: the spec's `image:` checked at the edge, references resolved against the
region's mirror, the fleet's `registry:`, and the `podman run` line a run gets."""

from __future__ import annotations

import pytest

from suanli.domain.errors import InvalidInput
from suanli.engines.checkpoints import CHECKPOINT_MOUNT
from suanli.engines.container import ImageFailure, ImageRef, Limits, run_argv
from suanli.schemas.fleetfile import parse_fleet_text
from suanli.schemas.specfile import parse_spec_text
from suanli.service.fleet import builtin_catalog

DIGEST = "sha256:" + "ab" * 32
SPEC = "name: ok\nrun: echo hi\nimage: {image}\n"


@pytest.mark.parametrize(
    "image",
    [
        "suanli/python:3.11",
        "python:3.11",
        "127.0.0.1:5000/suanli/python:3.11",
        "registry.example.cn/team/train:v1.2-rc_3",
        f"suanli/python@{DIGEST}",
        f"suanli/python:3.11@{DIGEST}",
        "localhost/a/b/c:x",
    ],
)
def test_good_image_references_pass(image: str) -> None:
    assert parse_spec_text(SPEC.format(image=f'"{image}"')).image == image


@pytest.mark.parametrize(
    "image",
    [
        "suanli/python",  # neither tag nor digest: what ran would not be exact
        "Suanli/Python:3.11",  # upper case name
        "suanli/python:3.11@sha256:abc",  # short digest
        "suanli/python@md5:" + "a" * 32,
        "suanli//python:1",
        "suanli/python:-bad",
        "http://registry/x:1",
        "x:1 && rm -rf /",
        "",
    ],
)
def test_bad_image_references_name_the_field_and_what_is_allowed(image: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_spec_text(SPEC.format(image=f'"{image}"'), "job.yaml")
    (err,) = info.value.errors
    assert err.field == "image"
    assert err.code in ("not_allowed", "too_short")
    if err.code == "not_allowed":
        assert "sha256" in str(err.allowed)


def test_a_reference_without_registry_comes_from_the_regions_mirror() -> None:
    ref = ImageRef.parse("suanli/python:3.11", "127.0.0.1:5000")
    assert (ref.registry, ref.name, ref.tag) == ("127.0.0.1:5000", "suanli/python", "3.11")
    assert ref.pull_ref == "127.0.0.1:5000/suanli/python:3.11"
    assert not ref.tls_verify  # a mirror on loopback speaks plain HTTP
    own = ImageRef.parse("registry.example.cn/team/x:1", "127.0.0.1:5000")
    assert own.registry == "registry.example.cn"
    assert own.tls_verify


def test_a_digest_is_what_is_pulled_even_with_a_tag() -> None:
    ref = ImageRef.parse(f"suanli/python:3.11@{DIGEST}", "r.cn")
    assert ref.pull_ref == f"r.cn/suanli/python@{DIGEST}"
    assert ref.full == f"r.cn/suanli/python:3.11@{DIGEST}"


def test_not_a_reference_is_an_image_failure() -> None:
    with pytest.raises(ImageFailure):
        ImageRef.parse("Not An Image")


def test_run_line_limits_user_env_names_and_no_host_paths() -> None:
    argv = run_argv(
        "j-1-a1",
        "r/x:1",
        "echo hi",
        ["SECRET_TOKEN", "SUANLI_JOB_ID"],
        "/data/runs/c/j-1-a1/work",
        Limits(cpus=2, memory_gb=3),
        (990, 991),
        devices=["nvidia.com/gpu=0"],
    )
    line = " ".join(argv)
    assert argv[:4] == ["podman", "run", "--name", "j-1-a1"]
    assert "--cpus 2" in line
    assert "--memory 3g" in line
    assert "--user 990:991" in line
    assert "--cap-drop=all" in argv
    assert "--security-opt=no-new-privileges" in argv
    assert "--pull=never" in argv  # pulled before, by the supervisor, with a timeout
    assert "--env SECRET_TOKEN" in line
    assert "SECRET_TOKEN=" not in line
    assert "--device nvidia.com/gpu=0" in line
    volumes = [argv[i + 1] for i, a in enumerate(argv) if a == "--volume"]
    assert volumes == ["/data/runs/c/j-1-a1/work:/work:rw"]  # the work directory only
    assert argv[-4:] == ["r/x:1", "/bin/sh", "-c", "echo hi"]


def test_a_job_that_checkpoints_gets_its_directory_bound_read_write_and_only_that() -> None:
    argv = run_argv(
        "j-1-a2",
        "r/x:1",
        "true",
        [],
        "/data/runs/j-1-a2/work",
        Limits(cpus=1, memory_gb=0),
        None,
        checkpoint="/data/runs/.checkpoints/j-1",
    )
    volumes = [argv[i + 1] for i, a in enumerate(argv) if a == "--volume"]
    assert volumes == [
        "/data/runs/j-1-a2/work:/work:rw",
        f"/data/runs/.checkpoints/j-1:{CHECKPOINT_MOUNT}:rw",
    ]


FLEET = """
providers:
  - name: p1
    registry: {provider}
    clusters:
      - name: c1
        region: beijing
        engine: {{type: local}}
        {cluster}
        pools:
          - {{name: a, nodes: 1, cpus_per_node: 8, memory_gb_per_node: 16,
             price_per_accelerator_hour: "1"}}
"""


def test_fleet_registry_per_region_overrides_the_providers() -> None:
    text = FLEET.format(provider="mirror.p1.cn", cluster="registry: 127.0.0.1:5001")
    (cluster,) = parse_fleet_text(text, builtin_catalog()).clusters()
    assert dict(cluster.engine.options)["registry"] == "127.0.0.1:5001"
    text = FLEET.format(provider="mirror.p1.cn", cluster="")
    (cluster,) = parse_fleet_text(text, builtin_catalog()).clusters()
    assert dict(cluster.engine.options)["registry"] == "mirror.p1.cn"


def test_fleet_registry_must_be_host_and_port() -> None:
    text = FLEET.format(provider='"http://x/"', cluster="")
    with pytest.raises(InvalidInput) as info:
        parse_fleet_text(text, builtin_catalog(), "fleet.yaml")
    assert info.value.errors[0].field == "providers[0].registry"


def test_ray_runs_an_image_in_a_container_never_bare() -> None:
    from decimal import Decimal

    from suanli.domain.clock import FixedClock
    from suanli.domain.jobs import NodeAssignment, Placement
    from suanli.engines import ray_image
    from suanli.engines.base import LaunchRequest
    from suanli.engines.ray import RayEngine
    from tests.builders import T0, make_spec

    engine = RayEngine("http://127.0.0.1:9", FixedClock(T0), registry="127.0.0.1:5000")
    spec = make_spec(image="suanli/debian:bookworm", resources={"cpus": 1}, env={"A": "1"})
    placement = Placement("r", "cpu", None, (NodeAssignment("n0", ()),), Decimal(0))
    body = engine.submission(LaunchRequest("suanli-j-1-a1", "j-1", 1, spec, placement))
    env = body["runtime_env"]["env_vars"]
    assert "SUANLI_RAY_RUN" not in env  # the bare path's script is not there to run
    script = env[ray_image.SCRIPT_ENV]
    assert " run --rm --timeout " in script  # podman [--runtime R] run
    assert "127.0.0.1:5000/suanli/debian:bookworm" in script  # from the region's mirror
    for flag in ("--cap-drop=all", "--security-opt=no-new-privileges", "--user 65534:65534"):
        assert flag in script
    assert "--env A" in script  # the job's variables by name; values stay out of argv
    assert body["metadata"]["suanli_image"] == "suanli/debian:bookworm"
