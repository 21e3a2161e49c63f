"""Targets, levers and the least-cost roadmap (docs/roadmap.md)."""

from tanlu.roadmap.model import RoadmapInfeasible, RoadmapProblem
from tanlu.roadmap.plan import RoadmapResult, calculate_roadmap, solve_roadmap

__all__ = [
    "RoadmapInfeasible",
    "RoadmapProblem",
    "RoadmapResult",
    "calculate_roadmap",
    "solve_roadmap",
]
