"""Choosing the engine for one job: the ``--engine`` and ``--spark-master`` of a command (or a
web request's choice) over the ``[engine]`` of tanlu.toml."""

from __future__ import annotations

from dataclasses import replace

from tanlu.project import EngineBackend, Project


def use_engine(
    project: Project, backend: EngineBackend | str | None = None, master: str | None = None
) -> Project:
    """The project with its ``[engine]`` replaced where ``backend`` or ``master`` is given.

    Parameters
    ----------
    project
        A loaded project.
    backend
        ``duckdb`` or ``spark`` (``None``: as tanlu.toml says).
    master
        Spark's master URL, e.g. ``local[4]`` or ``spark://host:7077`` (``None``: as
        tanlu.toml says, else ``local[*]``).
    """
    if backend is None and master is None:
        return project
    current = project.config.engine
    settings = current.model_copy(
        update={
            "backend": EngineBackend(backend) if backend is not None else current.backend,
            "spark_master": master if master is not None else current.spark_master,
        }
    )
    return replace(project, config=project.config.model_copy(update={"engine": settings}))
