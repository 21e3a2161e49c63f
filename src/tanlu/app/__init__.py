"""The use cases (validate, inventory, electricity, procure, roadmap, run, factors, and the
service's administration: database, users, audit): one function per job, each returning one
typed document.

The CLI (:mod:`tanlu.cli`), the report and, later, web routes and background jobs call these
functions; this package is the only place that composes the rooms below it (ingest,
inventory, electricity, roadmap, report). Each use case takes an optional ``on_step``
callback, told the name of each step as it starts, and computes each result once: the
inputs and inventories it computes are passed down to the later stages.
"""

from tanlu.app.engine import use_engine
from tanlu.app.factors import (
    FactorCatalogue,
    FactorLookup,
    list_factor_activities,
    show_factor,
)
from tanlu.app.files import (
    LINES_CSV_MAX_ROWS,
    csv_writer,
    electricity_files,
    inventory_files,
    json_writer,
    procurement_files,
    roadmap_files,
    table_writer,
)
from tanlu.app.inputs import OnRows, OnStep, open_project, read_inputs
from tanlu.app.jobs import (
    run_electricity,
    run_inventories,
    run_inventory,
    run_procurement,
)
from tanlu.app.roadmap import RoadmapDocument, RoadmapOptions, run_roadmap
from tanlu.app.run import count_steps, run_project
from tanlu.app.validate import ValidationDocument, validate_project
from tanlu.electricity.matching import ElectricityResult
from tanlu.electricity.procurement import ProcurementLimits
from tanlu.electricity.site_procurement import SiteProcurement
from tanlu.ingest.inputs import InputTables, ProjectInputs, check_input_tables, count_project_rows
from tanlu.inventory.calculate import InventoryResult
from tanlu.project import EngineBackend, Project, project_from_config
from tanlu.report.text import LANGUAGES, Language
from tanlu.report.write import write_run
from tanlu.roadmap.model import RoadmapInfeasible
from tanlu.roadmap.plan import summarise_binding_constraints
from tanlu.scaffold import scaffold_project
from tanlu.store import DEFAULT_URL, URL_VARIABLE, OrganisationKind, Role

__all__ = [
    "DEFAULT_URL",
    "LANGUAGES",
    "LINES_CSV_MAX_ROWS",
    "URL_VARIABLE",
    "ElectricityResult",
    "EngineBackend",
    "FactorCatalogue",
    "FactorLookup",
    "InputTables",
    "InventoryResult",
    "Language",
    "OnRows",
    "OnStep",
    "OrganisationKind",
    "ProcurementLimits",
    "Project",
    "ProjectInputs",
    "RoadmapDocument",
    "RoadmapInfeasible",
    "RoadmapOptions",
    "Role",
    "SiteProcurement",
    "ValidationDocument",
    "check_input_tables",
    "count_project_rows",
    "count_steps",
    "csv_writer",
    "electricity_files",
    "inventory_files",
    "json_writer",
    "list_factor_activities",
    "open_project",
    "procurement_files",
    "project_from_config",
    "read_inputs",
    "roadmap_files",
    "run_electricity",
    "run_inventories",
    "run_inventory",
    "run_procurement",
    "run_project",
    "run_roadmap",
    "scaffold_project",
    "show_factor",
    "summarise_binding_constraints",
    "table_writer",
    "use_engine",
    "validate_project",
    "write_run",
]
