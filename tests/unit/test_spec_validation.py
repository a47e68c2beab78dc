"""Bad specs are refused at the edge with the field, the value and what is allowed."""

from __future__ import annotations

import pytest

from suanli.domain.errors import FieldError, InputTooLarge, InvalidInput
from suanli.domain.spec import MAX_SPEC_BYTES
from suanli.schemas.specfile import parse_spec_text
from suanli.service.fleet import demo_fleet
from suanli.service.jobs import check_spec

GOOD = """
name: ok
resources:
  accelerator: {model: T4, count: 1}
run: echo hi
"""


def errors_of(text: str) -> list[FieldError]:
    with pytest.raises(InvalidInput) as info:
        parse_spec_text(text, "job.yaml")
    assert info.value.source == "job.yaml"
    return info.value.errors


class TestParse:
    def test_good_spec_parses_with_defaults(self) -> None:
        spec = parse_spec_text(GOOD)
        assert spec.resources.accelerator is not None
        assert spec.resources.accelerator.model == ["T4"]
        assert spec.resources.nodes == 1
        assert spec.retry.max_attempts == 3
        assert spec.retry.when == ["lost"]
        assert spec.objective == "cost"

    @pytest.mark.parametrize(
        ("text", "want_field", "want_code"),
        [
            ("name: [unclosed", "", "yaml_syntax"),
            ("- a\n- b\n", "", "not_a_mapping"),
            ("", "", "not_a_mapping"),
            (GOOD.replace("count: 1", "count: -1"), "resources.accelerator.count", "out_of_range"),
            (GOOD.replace("count: 1", "count: 0"), "resources.accelerator.count", "out_of_range"),
            (GOOD.replace("count: 1", "count: two"), "resources.accelerator.count", "wrong_type"),
            (
                GOOD.replace("resources:\n", "resources:\n  nodes: 10000\n"),
                "resources.nodes",
                "out_of_range",
            ),
            (GOOD.replace("name: ok", "name: Bad Name!"), "name", "not_allowed"),
            (GOOD + "colour: blue\n", "colour", "extra_forbidden"),
            (GOOD.replace("run: echo hi\n", ""), "run", "missing"),
            (GOOD + "objective: fastest\n", "objective", "not_allowed"),
            (GOOD + "stacks: [cuda, rocm]\n", "stacks[1]", "not_allowed"),
            (GOOD + "deadline: 2026-12-01 10:00:00\n", "deadline", "not_allowed"),
            (GOOD + "env: {'BAD-NAME': x}\n", "env.BAD-NAME", "not_allowed"),
            (
                GOOD + "inputs: [{name: d, uri: 'not a uri', region: hebei, size_gb: 1}]\n",
                "inputs[0].uri",
                "not_allowed",
            ),
            (GOOD + "budget_yuan: 1.005\n", "budget_yuan", "invalid_value"),
        ],
        ids=[
            "malformed-yaml",
            "a-list-not-a-mapping",
            "empty-file",
            "negative-count",
            "zero-count",
            "count-not-a-number",
            "ten-thousand-nodes",
            "bad-name",
            "unknown-field",
            "missing-run",
            "unknown-objective",
            "unknown-stack",
            "deadline-without-zone",
            "bad-env-name",
            "bad-uri",
            "fractional-fen",
        ],
    )
    def test_bad_spec_names_the_field(self, text: str, want_field: str, want_code: str) -> None:
        errors = errors_of(text)
        assert [(e.field, e.code) for e in errors][:1] == [(want_field, want_code)]
        assert errors[0].message("en")
        assert errors[0].message("zh") != errors[0].message("en")

    def test_out_of_range_says_what_is_allowed(self) -> None:
        (error,) = errors_of(GOOD.replace("resources:\n", "resources:\n  nodes: 10000\n"))
        assert error.value == 10000
        assert error.allowed == "from 1 to 256"
        assert "10000" in error.message("en")
        assert "1 to 256" in error.message("en")

    def test_unknown_field_lists_the_allowed_ones(self) -> None:
        (error,) = errors_of(GOOD.replace("count: 1", "count: 1, colour: red"))
        assert error.field == "resources.accelerator.colour"
        assert error.allowed is not None
        assert "min_memory_gb" in error.allowed

    def test_yaml_error_says_where(self) -> None:
        (error,) = errors_of("name: ok\nrun: [\n")
        assert "line" in error.message("en")

    def test_a_one_megabyte_spec_is_refused_before_parsing(self) -> None:
        text = GOOD + "description: |\n" + ("  " + "x" * 1000 + "\n") * 1024
        with pytest.raises(InputTooLarge) as info:
            parse_spec_text(text, "big.yaml")
        assert info.value.errors[0].params["limit"] == MAX_SPEC_BYTES
        assert "262144" in info.value.message("en")

    def test_every_error_is_reported_not_just_the_first(self) -> None:
        errors = errors_of(GOOD.replace("count: 1", "count: -1") + "priority: 1000\nfoo: 1\n")
        assert {e.field for e in errors} == {"resources.accelerator.count", "priority", "foo"}


class TestAgainstFleet:
    def test_unknown_accelerator_names_the_list_entry(self) -> None:
        spec = parse_spec_text(GOOD.replace("model: T4", "model: [T4, X9000]"))
        (error,) = check_spec(spec, demo_fleet())
        assert error.field == "resources.accelerator.model[1]"
        assert error.code == "unknown_accelerator"
        assert error.allowed is not None
        assert "Ascend910B" in error.allowed

    def test_aliases_are_accepted(self) -> None:
        spec = parse_spec_text(GOOD.replace("model: T4", "model: 'NVIDIA T4'"))
        assert check_spec(spec, demo_fleet()) == []

    def test_unknown_region_and_cluster(self) -> None:
        spec = parse_spec_text(GOOD + "regions: [atlantis]\n")
        errors = check_spec(spec, demo_fleet(), pinned="nowhere")
        assert {(e.field, e.code) for e in errors} == {
            ("regions[0]", "unknown_region"),
            ("cluster", "unknown_cluster"),
        }

    def test_a_job_no_pool_could_ever_run_is_refused_with_reasons(self) -> None:
        spec = parse_spec_text(GOOD.replace("count: 1", "count: 16"))
        (error,) = check_spec(spec, demo_fleet())
        assert (error.field, error.code) == ("resources", "no_feasible_pool")
        assert "tj-binhai-1/t4" in error.message("en")
        assert "16" in error.message("zh")


class TestCheckpoint:
    """``checkpoint``: a job that says it saves its state; bounded like every field."""

    def test_a_job_without_it_starts_each_attempt_from_zero(self) -> None:
        assert not parse_spec_text(GOOD).resumes

    @pytest.mark.parametrize(
        ("block", "every"), [("checkpoint: {}", None), ("checkpoint: {every_minutes: 30}", 30)]
    )
    def test_a_job_that_checkpoints_resumes(self, block: str, every: float | None) -> None:
        spec = parse_spec_text(GOOD + block + "\n")
        assert spec.resumes
        assert spec.checkpoint is not None
        assert spec.checkpoint.every_minutes == every
        assert spec.model_dump(mode="json")["checkpoint"] == {"every_minutes": every}

    @pytest.mark.parametrize(
        ("value", "code"),
        [
            ("0", "out_of_range"),
            ("-5", "out_of_range"),
            ("0.5", "out_of_range"),
            ("10081", "out_of_range"),
            ("1e308", "out_of_range"),
            (".nan", "out_of_range"),
            ("often", "wrong_type"),
            ("[30]", "wrong_type"),
        ],
    )
    def test_hostile_intervals_are_refused_naming_field_value_and_range(
        self, value: str, code: str
    ) -> None:
        (error,) = errors_of(GOOD + f"checkpoint: {{every_minutes: {value}}}\n")
        assert (error.field, error.code) == ("checkpoint.every_minutes", code)
        if code == "out_of_range":
            assert error.allowed == "from 1 to 10080"
            assert "1 to 10080" in error.message("en")
            assert "1 to 10080" in error.message("zh")
        assert error.message("zh") != error.message("en")

    @pytest.mark.parametrize(
        "block", ["checkpoint: yes", "checkpoint: {every: 30}", "checkpoint: {dir: /etc}"]
    )
    def test_other_shapes_are_refused(self, block: str) -> None:
        (error,) = errors_of(GOOD + block + "\n")
        assert error.field.startswith("checkpoint")
        assert error.message("zh") != error.message("en")
