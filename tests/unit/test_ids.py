"""Job ids: well formed, distinct, and a forked process never repeats its parent's."""

from __future__ import annotations

import os
import re

from suanli.domain.ids import engine_key, new_job_id, parse_engine_key


def test_ids_are_well_formed_and_distinct() -> None:
    ids = [new_job_id() for _ in range(5000)]  # several batches of draws
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"j-[0-9a-hjkmnp-tv-z]{10}", i) for i in ids)
    assert parse_engine_key(engine_key(ids[0], 2)) == (ids[0], 2)


def test_a_forked_child_draws_its_own_ids() -> None:
    new_job_id()  # the parent holds a batch of draws not yet used
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(write, " ".join(new_job_id() for _ in range(20)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split())
    ours = {new_job_id() for _ in range(20)}
    assert len(theirs) == 20
    assert not theirs & ours
