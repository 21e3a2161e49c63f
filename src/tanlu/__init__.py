"""tanlu (碳路): activity data -> GHG inventory -> roadmap to carbon neutrality -> report.

A project comes from its folder (:func:`load_project`), or from its configuration
(:func:`project_from_config`) with its inputs given as tables (:class:`InputTables`, checked by
:func:`check_input_tables`), so that nothing need be written to disk.
"""

from tanlu.errors import (
    FactorError,
    InputError,
    InputIssue,
    ProjectError,
    ResourceError,
    TanluError,
    UnitError,
)
from tanlu.ingest import InputTables, ProjectInputs, check_input_tables
from tanlu.inventory import InventoryResult, calculate_inventory
from tanlu.project import Project, load_project, project_from_config

__all__ = [
    "FactorError",
    "InputError",
    "InputIssue",
    "InputTables",
    "InventoryResult",
    "Project",
    "ProjectError",
    "ProjectInputs",
    "ResourceError",
    "TanluError",
    "UnitError",
    "calculate_inventory",
    "check_input_tables",
    "load_project",
    "project_from_config",
]

__version__ = "0.1.0"
