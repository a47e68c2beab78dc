"""The openb CSV reader: good files load, bad ones name the file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from suanli.domain.errors import InvalidInput
from suanli.sim.openb import read_nodes, read_pods

NODES = "sn,cpu_milli,memory_mib,gpu,model\nn0,96000,393216,8,G2\nn1,32000,262144,0,\n"
PODS = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos\n"
    "p0,12000,16384,1,1000,,LS\n"
    "p1,6000,12288,1,460,T4|P100,BE\n"
    "p2,8000,30517,0,0,,BE\n"
    "p3,32000,65536,8,1000,,LS\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_nodes_and_pods(tmp_path: Path) -> None:
    nodes = read_nodes(write(tmp_path, "n.csv", NODES))
    pods = read_pods(write(tmp_path, "p.csv", PODS))
    assert [(n.name, n.gpus, n.gpu_model) for n in nodes] == [("n0", 8, "G2"), ("n1", 0, "")]
    assert pods[1].gpu_spec == frozenset({"T4", "P100"})
    assert pods[1].shares_gpu
    assert pods[2].gpus == 0
    assert pods[3].gpu_request_milli == 8000


def test_pods_without_gpu_spec_column_load(tmp_path: Path) -> None:
    text = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,10,1,500\n"
    assert read_pods(write(tmp_path, "p.csv", text))[0].gpu_spec == frozenset()


def errors_of(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    return exc.value.message("en")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        read_nodes(tmp_path / "absent.csv")
    assert "absent.csv" in errors_of(exc)


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", "sn,cpu_milli,gpu,model\nn0,1,1,G2\n")
    with pytest.raises(InvalidInput) as exc:
        read_nodes(path)
    assert "n.csv" in errors_of(exc)
    assert "column memory_mib" in errors_of(exc)


@pytest.mark.parametrize(
    ("row", "where"),
    [
        ("p,abc,10,1,500", "line 2, column cpu_milli"),
        ("p,10,-5,1,500", "line 2, column memory_mib"),
        ("p,10,10,1,1500", "line 2, column gpu_milli"),
        ("p,10,10,1,0", "line 2, column gpu_milli"),
        ("p,10,10,2,500", "line 2, column gpu_milli"),
    ],
)
def test_bad_pod_field_names_line_and_column(tmp_path: Path, row: str, where: str) -> None:
    path = write(tmp_path, "p.csv", f"name,cpu_milli,memory_mib,num_gpu,gpu_milli\n{row}\n")
    with pytest.raises(InvalidInput) as exc:
        read_pods(path)
    assert "p.csv" in errors_of(exc)
    assert where in errors_of(exc)


def test_gpu_node_without_model_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", "sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,2,\n")
    with pytest.raises(InvalidInput) as exc:
        read_nodes(path)
    assert "line 2, column model" in errors_of(exc)


def test_empty_list_and_non_utf8_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no node rows"):
        read_nodes(write(tmp_path, "n.csv", "sn,cpu_milli,memory_mib,gpu,model\n"))
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"sn,cpu\xff\n")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read_nodes(binary)
