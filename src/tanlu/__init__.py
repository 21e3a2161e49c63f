"""tanlu (碳路): activity data -> GHG inventory -> roadmap to carbon neutrality -> report."""

from tanlu.errors import FactorError, InputError, InputIssue, ProjectError, TanluError, UnitError
from tanlu.inventory import InventoryResult, calculate_inventory
from tanlu.project import Project, load_project

__all__ = [
    "FactorError",
    "InputError",
    "InputIssue",
    "InventoryResult",
    "Project",
    "ProjectError",
    "TanluError",
    "UnitError",
    "calculate_inventory",
    "load_project",
]

__version__ = "0.1.0"
