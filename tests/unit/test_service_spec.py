"""The service spec: examples load, and each mistake is named by field in en and zh."""

from __future__ import annotations

from pathlib import Path

import pytest

from suanli.domain.errors import InvalidInput
from suanli.domain.service_spec import ServiceSpec
from suanli.schemas.servicefile import parse_service_data, parse_service_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "services"
GOOD = {"name": "chat", "run": "serve --port $PORT"}


def errors_of(data: object) -> dict[str, tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        parse_service_data(data)
    assert caught.value.code == "invalid_service_spec"
    return {e.field: (e.message("en"), e.message("zh")) for e in caught.value.errors}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_is_a_valid_service(path: Path) -> None:
    spec = parse_service_text(path.read_bytes(), str(path))
    assert spec.replicas.min <= spec.replicas.max
    assert "PORT" in spec.run


def test_defaults_are_one_replica_tracking_in_flight() -> None:
    spec = parse_service_data(GOOD)
    assert (spec.replicas.min, spec.replicas.max) == (1, 1)
    assert spec.scaling.metric == "in_flight"
    assert spec.readiness.path == "/health"
    assert spec.model is None


def test_max_below_min_names_both_in_both_languages() -> None:
    found = errors_of({**GOOD, "replicas": {"min": 3, "max": 2}})
    en, zh = found["replicas.max"]
    assert "max 2 is below min 3" in en
    assert "from 3 to 256" in en
    assert "小于 min 3" in zh


def test_min_zero_is_allowed_and_bounds_are_checked() -> None:
    assert parse_service_data({**GOOD, "replicas": {"min": 0, "max": 4}}).replicas.min == 0
    found = errors_of({**GOOD, "replicas": {"min": -1, "max": 300}})
    assert "out of range" in found["replicas.min"][0]
    assert "from 1 to 256" in found["replicas.max"][0]


def test_unknown_metric_lists_the_allowed_ones() -> None:
    en, zh = errors_of({**GOOD, "scaling": {"metric": "qps"}})["scaling.metric"]
    assert "'qps'" in en
    assert "in_flight" in en
    assert "tokens_per_s" in en
    assert "不被允许" in zh


def test_tokens_metric_needs_a_model_block() -> None:
    en, zh = errors_of({**GOOD, "scaling": {"metric": "tokens_per_s"}})["model"]
    assert "needs a model block" in en
    assert "需要 model 段" in zh


def test_run_must_serve_on_port_and_port_is_not_the_owners() -> None:
    found = errors_of({"name": "chat", "run": "serve", "env": {"PORT": "80"}})
    assert "$PORT" in found["run"][0]
    assert "remove it from env" in found["env"][0]
    assert "请从 env 中删除" in found["env"][1]


MODEL = {"served_name": "qwen2.5-7b", "base_model": "Qwen/Qwen2.5-7B", "publisher": "Qwen"}


def test_visibility_and_tenants_must_agree() -> None:
    named = errors_of({**GOOD, "model": {**MODEL, "visibility": "tenants"}})
    assert "no tenant is named" in named["model.tenants"][0]
    stray = errors_of({**GOOD, "model": {**MODEL, "tenants": ["acme"]}})
    assert "visibility is private" in stray["model.tenants"][0]
    twice = errors_of(
        {**GOOD, "model": {**MODEL, "visibility": "tenants", "tenants": ["a", "b", "a"]}}
    )
    assert "tenant a is listed twice" in twice["model.tenants"][0]


def test_prices_are_decimal_yuan_bounded() -> None:
    spec = parse_service_data({**GOOD, "model": {**MODEL, "input_price_per_million_yuan": "0.3"}})
    assert spec.model is not None
    assert str(spec.model.input_price_per_million_yuan) == "0.3"
    found = errors_of(
        {
            **GOOD,
            "model": {
                **MODEL,
                "input_price_per_million_yuan": "-1",
                "output_price_per_million_yuan": "0.123456",
            },
        }
    )
    assert "out of range" in found["model.input_price_per_million_yuan"][0]
    assert "model.output_price_per_million_yuan" in found


def test_unknown_fields_and_bad_names_are_refused() -> None:
    found = errors_of({**GOOD, "replica": 3, "name": "Chat Bot"})
    assert "allowed here" in found["replica"][0]
    assert "replicas" in found["replica"][0]
    assert "lower-case" in found["name"][0]


def test_files_are_bounded_and_must_be_mappings() -> None:
    with pytest.raises(InvalidInput) as big:
        parse_service_text(b"name: x\n" + b"#" * (300 * 1024))
    assert big.value.code == "too_large"
    assert "服务描述文件" in big.value.message("zh")
    with pytest.raises(InvalidInput) as listed:
        parse_service_text("- a\n- b\n")
    assert listed.value.code == "not_a_mapping"


def test_spec_round_trips_through_its_own_dump() -> None:
    spec = parse_service_text((EXAMPLES / "llama8b-vllm-a10.yaml").read_bytes())
    assert ServiceSpec.model_validate(spec.model_dump()) == spec


def test_hostile_yaml_is_refused_before_validation() -> None:
    bomb = "name: x\nrun: serve $PORT\nenv: &a {A: '1'}\nsetup: *a\n"
    with pytest.raises(InvalidInput):
        parse_service_text(bomb)
    deep: object = "x"
    for _ in range(100):
        deep = [deep]
    with pytest.raises(InvalidInput):
        parse_service_data({**GOOD, "description": deep})


def test_who_pays_defaults_to_the_caller_and_is_one_of_two() -> None:
    model = {"served_name": "tiny", "base_model": "tiny-llama", "publisher": "lab"}
    assert parse_service_data({**GOOD, "model": model}).model.payer == "caller"  # type: ignore[union-attr]
    owner = parse_service_data({**GOOD, "model": {**model, "payer": "owner"}})
    assert owner.model is not None
    assert owner.model.payer == "owner"
    en, _ = errors_of({**GOOD, "model": {**model, "payer": "tenant"}})["model.payer"]
    assert "'owner'" in en
    assert "'caller'" in en


def test_a_rollout_that_could_never_move_is_refused_in_both_languages() -> None:
    spec = parse_service_data(GOOD)
    assert (spec.rollout.surge, spec.rollout.max_unavailable) == (1, 0)
    en, zh = errors_of({**GOOD, "rollout": {"surge": 0}})["rollout.max_unavailable"]
    assert "both 0" in en
    assert "均为 0" in zh
    moved = parse_service_data({**GOOD, "rollout": {"surge": 0, "max_unavailable": 1}})
    assert moved.rollout.max_unavailable == 1
