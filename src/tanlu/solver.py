"""Solving linopy models with HiGHS, for every optimisation in tanlu.

Green-power procurement (:mod:`tanlu.electricity.procurement`) and the roadmap
(:mod:`tanlu.roadmap`) build their own models and choose their own HiGHS options; both solve
through :func:`solve_with_highs`, which keeps HiGHS's banner off standard output.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from typing import Any


@functools.cache
def silence_highs_banner() -> None:
    """Create the process's first HiGHS instance with C-level stdout sent to /dev/null.

    HiGHS prints a licence banner on standard output when the first instance of a process is
    created, before any option can turn output off; it would corrupt ``--json`` output.
    """
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def solve_with_highs(model: Any, options: Mapping[str, Any]) -> str:
    """Solve a linopy model with HiGHS through its direct API; the termination condition.

    Parameters
    ----------
    model
        A ``linopy.Model``, solved in place (its solution is read from it afterwards).
    options
        HiGHS options (``output_flag``, ``solver`` ...), chosen by the caller.

    Returns
    -------
    str
        linopy's termination condition: ``"optimal"``, ``"infeasible"`` ...
    """
    silence_highs_banner()
    _, condition = model.solve(solver_name="highs", io_api="direct", set_names=False, **options)
    return str(condition)
