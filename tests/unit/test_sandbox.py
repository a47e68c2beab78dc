"""The job sandbox's command prefix and environment, as this host's isolation allows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from suanli.domain.errors import EngineFailure
from suanli.engines.sandbox import (
    Account,
    Isolation,
    account_name,
    confinement,
    job_environment,
    shared_mounts,
)

DATA = Path("/srv/suanli")
WORK = DATA / "runs" / "lab" / "suanli-j-1-a1" / "work"
TENANT = Account("sl-0123456789ab", 990, 990)
FULL = Isolation(users=True, bwrap="/usr/bin/bwrap", setpriv="/usr/bin/setpriv")


def test_user_names_are_safe_whatever_the_tenant_id_holds() -> None:
    names = {account_name(t) for t in ("acme", "ACME", "../../etc", "租户", "a" * 500, "")}
    assert len(names) == 6
    for name in names:
        assert len(name) <= 32
        assert name.startswith("sl-")
        assert name[3:].isalnum()


def test_the_full_sandbox_hides_the_data_dir_then_binds_back_only_the_work_dir() -> None:
    argv = confinement(FULL, TENANT, WORK, (DATA,), devices=False)

    assert argv[0] == "/usr/bin/bwrap"
    for flag in ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"):
        assert flag in argv
    hide = argv.index(str(DATA))
    assert argv[hide - 1] == "--tmpfs"
    bind = argv.index("--bind")
    assert argv[bind : bind + 3] == ["--bind", str(WORK), str(WORK)]
    assert hide < bind  # bound back after the tmpfs covers it
    sep = argv.index("--")
    assert argv[sep + 1] == "/usr/bin/setpriv"
    assert argv[sep + 2 : sep + 4] == ["--reuid=990", "--regid=990"]
    for flag in ("--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"):
        assert flag in argv[sep:]
    assert argv[-1] == "--"


def test_without_bubblewrap_only_the_user_switch_remains() -> None:
    argv = confinement(Isolation(True, None, "/usr/bin/setpriv"), TENANT, WORK, (DATA,), False)

    assert argv[0] == "/usr/bin/setpriv"
    assert "--reuid=990" in argv


def test_without_root_the_namespaces_remain_and_without_both_nothing() -> None:
    argv = confinement(Isolation(False, "/usr/bin/bwrap"), None, WORK, (DATA,), False)
    assert argv[0] == "/usr/bin/bwrap"
    assert "setpriv" not in " ".join(argv)

    assert confinement(Isolation(False, None), None, WORK, (DATA,), False) == []
    assert Isolation(False, None).missing() == ["users", "namespaces"]
    assert FULL.complete
    assert FULL.missing() == []


def test_shared_mounts_come_after_the_hidden_dirs(tmp_path: Path) -> None:
    argv = confinement(FULL, TENANT, WORK, (DATA,), False, shared=(tmp_path,))

    assert argv.index(str(tmp_path)) > argv.index(str(DATA))
    assert shared_mounts(f"{tmp_path}:") == (tmp_path,)
    with pytest.raises(EngineFailure, match="SUANLI_JOB_MOUNTS"):
        shared_mounts("relative/dir")


def test_the_environment_is_the_jobs_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUANLI_DATABASE_URL", "postgresql://u:secret@db/x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")

    env = job_environment({"SUANLI_JOB_ID": "j-1", "EPOCHS": "3"}, WORK, TENANT)

    assert env["SUANLI_JOB_ID"] == "j-1"
    assert env["EPOCHS"] == "3"
    assert env["HOME"] == str(WORK)
    assert env["USER"] == TENANT.name
    assert env["PATH"] == os.environ["PATH"]
    assert "SUANLI_DATABASE_URL" not in env
    assert "AWS_SECRET_ACCESS_KEY" not in env
