"""A Slurm cluster's options (``engine.options`` in a fleet file), checked when the fleet loads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from suanli.domain.errors import EngineFailure


@dataclass(frozen=True)
class SlurmOptions:
    """A cluster's ``engine.options`` in a fleet file, all optional."""

    conf: str | None = None  # SLURM_CONF for every command (else the commands' default)
    partition: str | None = None
    account: str | None = None
    gres: str = "gpu"  # the GRES name accelerators are configured under
    gres_types: tuple[tuple[str, str], ...] = ()  # catalog model -> GRES type (default: lower)
    bin_dir: str | None = None  # where sbatch & co. live (else PATH)
    run_dir: str | None = None  # shared directory for scripts and output (else the data dir)
    cache_s: float = 1.0  # one squeue answers every status call for this long
    # Submit as root with ``sbatch --uid`` so each tenant's jobs run as its own system user
    # (sandbox.tenant_account; the nodes must know the same users: one host, or shared
    # accounts). Needs ``run_dir``, outside the data directory, which stays the server's.
    tenant_users: bool = False
    registry: str | None = None  # the region's image mirror (fleet file `registry:`)
    # Where checkpointing jobs keep their work across attempts (a directory the nodes share;
    # else RUN_DIR/.checkpoints): ``slurm_checkpoints``.
    checkpoint_dir: str | None = None

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> SlurmOptions:
        types = tuple(
            sorted((k.split(".", 1)[1], v) for k, v in options.items() if k.startswith("gres."))
        )
        known = {
            "conf",
            "partition",
            "account",
            "gres",
            "bin_dir",
            "run_dir",
            "cache_s",
            "tenant_users",
            "registry",  # the region's image mirror (fleet file `registry:`)
            "checkpoint_dir",
        }
        unknown = sorted(k for k in options if k not in known and not k.startswith("gres."))
        if unknown:
            raise EngineFailure(
                engine="slurm",
                detail=f"unknown option(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(sorted(known))}, gres.MODEL",
            )
        try:
            cache_s = float(options.get("cache_s", "1.0"))
        except ValueError:
            raise EngineFailure(
                engine="slurm", detail=f"cache_s must be a number, not {options['cache_s']!r}"
            ) from None
        registry = options.get("registry") or None
        tenant_users = str(options.get("tenant_users", "false")).lower()
        if tenant_users not in ("true", "false") or (
            tenant_users == "true" and not options.get("run_dir")
        ):
            raise EngineFailure(
                engine="slurm",
                detail="tenant_users must be true or false, and true needs run_dir "
                "(a directory the nodes share, outside the data directory)",
            )
        checkpoint_dir = options.get("checkpoint_dir") or None
        if checkpoint_dir is not None and not checkpoint_dir.startswith("/"):
            raise EngineFailure(
                engine="slurm",
                detail=f"checkpoint_dir must be an absolute path the nodes share, "
                f"not {checkpoint_dir!r}",
            )
        return cls(
            conf=options.get("conf"),
            partition=options.get("partition"),
            account=options.get("account"),
            gres=options.get("gres", "gpu"),
            gres_types=types,
            bin_dir=options.get("bin_dir"),
            run_dir=options.get("run_dir"),
            cache_s=cache_s,
            tenant_users=tenant_users == "true",
            registry=registry,
            checkpoint_dir=checkpoint_dir,
        )

    def gres_type(self, model: str) -> str:
        return dict(self.gres_types).get(model, model.lower())
