"""Organisational boundary: which sites count, in which scope, and at what share.

GHG Protocol Corporate Standard ch. 3. Under operational or financial control a site counts in
full when its entity is controlled that way; under equity share it counts at the entity's
ownership share. A leased site outside the boundary has its scope 1 and 2 emissions reported by
the lessee as scope 3 category 8 (upstream leased assets); any other site outside is excluded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tanlu.project import ConsolidationApproach

BOUNDARY_COLUMNS = (
    "site",
    "entity",
    "consolidation_share",
    "boundary",
    "owned_from",
    "owned_until",
)


def define_boundary(sites: pd.DataFrame, approach: ConsolidationApproach) -> pd.DataFrame:
    """Site table -> ``BOUNDARY_COLUMNS`` under a consolidation approach.

    Parameters
    ----------
    sites
        :attr:`tanlu.project.Project.sites`.
    approach
        The consolidation approach of the organisation.
    """
    if approach is ConsolidationApproach.EQUITY_SHARE:
        share = sites["ownership_share"].astype("float64")
        included = share > 0
    else:
        column = (
            "operational_control"
            if approach is ConsolidationApproach.OPERATIONAL_CONTROL
            else "financial_control"
        )
        included = sites[column].astype(bool)
        share = pd.Series(1.0, index=sites.index)
    boundary = np.where(included, "included", np.where(sites["leased"], "leased_cat8", "excluded"))
    return pd.DataFrame(
        {
            "site": sites["site"],
            "entity": sites["entity"],
            "consolidation_share": np.where(
                boundary == "excluded", 0.0, np.where(included, share, 1.0)
            ),
            "boundary": boundary,
            "owned_from": pd.to_datetime(sites["owned_from"]),
            "owned_until": pd.to_datetime(sites["owned_until"]),
        }
    )
