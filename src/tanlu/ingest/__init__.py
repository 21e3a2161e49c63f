"""Reading a project's input files of every format into checked tables and one input bundle.

The inputs may also be given as tables in memory (:class:`InputTables`), checked by
:func:`check_input_tables` with the checks the files go through.
"""

from tanlu.ingest.activities import CANONICAL_COLUMNS, PreparedActivities, prepare_activities
from tanlu.ingest.inputs import (
    InputTables,
    ProjectInputs,
    check_input_tables,
    check_inputs,
    load_inputs,
    load_project_library,
    project_years,
    read_input_tables,
)
from tanlu.ingest.instruments import read_instruments
from tanlu.ingest.prices import read_price_files
from tanlu.ingest.readers import read_activity_file

__all__ = [
    "CANONICAL_COLUMNS",
    "InputTables",
    "PreparedActivities",
    "ProjectInputs",
    "check_input_tables",
    "check_inputs",
    "load_inputs",
    "load_project_library",
    "prepare_activities",
    "project_years",
    "read_activity_file",
    "read_input_tables",
    "read_instruments",
    "read_price_files",
]
