"""Reading activity files of every format into the canonical activity table."""

from tanlu.ingest.activities import CANONICAL_COLUMNS, PreparedActivities, prepare_activities
from tanlu.ingest.readers import read_activity_file

__all__ = ["CANONICAL_COLUMNS", "PreparedActivities", "prepare_activities", "read_activity_file"]
