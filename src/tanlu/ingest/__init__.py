"""Reading a project's input files of every format into checked tables and one input bundle."""

from tanlu.ingest.activities import CANONICAL_COLUMNS, PreparedActivities, prepare_activities
from tanlu.ingest.inputs import (
    ProjectInputs,
    check_inputs,
    load_inputs,
    load_project_library,
    project_years,
)
from tanlu.ingest.instruments import read_instruments
from tanlu.ingest.readers import read_activity_file

__all__ = [
    "CANONICAL_COLUMNS",
    "PreparedActivities",
    "ProjectInputs",
    "check_inputs",
    "load_inputs",
    "load_project_library",
    "prepare_activities",
    "project_years",
    "read_activity_file",
    "read_instruments",
]
