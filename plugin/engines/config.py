"""Which engine a run uses and, for Ray, where and how wide: declared once (``ldfa.plugin.options``).

Free of Ray and torch, so the command line reads it instantly; the engines are ``run.py`` and
``ray_engine.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ldfa.plugin.options import check, option, refuse_unknown

ENGINES = ("local", "ray")
RAY_ADDRESS_ENV = "LDFA_RAY_ADDRESS"


@dataclass(frozen=True)
class EngineConfig:
    """Where the per-image work of a run happens."""

    engine: str = option("local", "where the work runs: local (this process) or ray (the workers "
                         "of a Ray cluster)", choices=ENGINES)
    ray_address: str | None = option(None, f"ray: the cluster to join (default: ${RAY_ADDRESS_ENV}, "
                                     "else a Ray started on this machine)", ui=False)
    workers: int | None = option(None, "ray: workers, each loading the models once a block (default: one "
                                 "per GPU for diffusion on GPUs, else one per CPU)", low=1, ui=False)
    gpus_per_worker: float | None = option(None, "ray: GPUs per worker (default: 1 for diffusion "
                                           "when the cluster has GPUs, else 0)", low=0, ui=False)

    @classmethod
    def of(cls, engine: "str | dict | EngineConfig | None" = None) -> "EngineConfig":
        """A checked config from an engine name, a dict of fields or a config."""
        if isinstance(engine, cls):
            config = engine
        elif isinstance(engine, dict):
            refuse_unknown(cls, engine, "engine")
            config = cls(**engine)
        else:
            config = cls(engine or "local")
        check(config)
        return config
