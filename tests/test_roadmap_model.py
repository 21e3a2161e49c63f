"""The roadmap LP's structure: which define_* family adds which variables and constraints.

The binding-constraints table and the model-derived MACC read the constraints by name, and the
order of the families fixes the labels; this pins both on the example project.
"""

from __future__ import annotations

from pathlib import Path

import tanlu
from tanlu.roadmap.model import build_roadmap_model
from tanlu.roadmap.plan import roadmap_problem

EXAMPLE = Path(__file__).parents[1] / "examples" / "internet-company"


def test_example_model_has_each_family_in_order_with_its_names() -> None:
    built = build_roadmap_model(roadmap_problem(tanlu.load_project(EXAMPLE)))
    model = built.model
    # planned from 2022: 2023-2030 (8 years); 16 sites with electricity, 13 with streams
    assert built.years == list(range(2023, 2031))
    members = {
        name: [str(m) for m in model.variables[name].labels.coords["member"].values]
        for name in model.variables
    }
    assert members == {
        # define_efficiency_levers, define_onsite_pv, define_fleet_electrification,
        # define_green_power_purchases
        "site_lever": [
            "building_efficiency",
            "pue_improvement",
            "onsite_pv",
            "fleet_electrification",
            "green_power_contract",
            "gec",
        ],
        # define_reduction_levers
        "stream_lever": ["backup_fuel_switch", "low_gwp_refrigerant", "supplier_engagement"],
        # define_offsets
        "offset": ["offset_avoidance", "offset_removal"],
        # define_target_constraints (3 [[targets]]), define_trajectory_constraints
        "shortfall": ["shortfall_0", "shortfall_1", "shortfall_2", "shortfall_trajectory_fall"],
    }
    counts = {name: int(model.constraints[name].labels.size) for name in model.constraints}
    assert counts == {
        # 4 cumulative site levers x 16 sites x 8 years = 512; only PV's ramp is below its
        # bound: 1 x 16 x 8 = 128
        "site_lever_no_retirement": 512,
        "site_lever_ramp": 128,
        # 3 reduction levers x 13 stream sites x 8 years = 312; supplier engagement's ramp
        # (0.15 a year) is below its bound: 13 x 8 = 104
        "stream_lever_no_retirement": 312,
        "stream_lever_ramp": 104,
        # contracts: a floor every year (8), the bundled ramp in the first year (1) and from
        # the second on (7); certificates: the ramp alone
        "green_power_contract_floor": 8,
        "green_power_contract_ramp_share_of_purchase_first": 1,
        "green_power_contract_ramp_share_of_purchase": 7,
        "gec_ramp_share_of_purchase_first": 1,
        "gec_ramp_share_of_purchase": 7,
        # define_purchase_constraints: 16 sites x 8 years, then one a year
        "within_purchase": 128,
        "certificate_share": 8,
        # define_offsets: one a year each
        "offset_cap": 8,
        "offsets_residual_only": 8,
        # carbon neutral from 2030 only (1 year); 100% green and the SBTi path every year
        "target_0": 1,
        "target_1": 8,
        "target_2": 8,
        # the trajectory: from the second planned year (7); the rising green share not in 2030,
        # when the 100% green target already holds it (6)
        "trajectory_green_share": 6,
        "trajectory_fall": 7,
    }
    # the families add their constraints in this order (it fixes the labels)
    assert list(counts) == [
        "site_lever_no_retirement",
        "site_lever_ramp",
        "stream_lever_no_retirement",
        "stream_lever_ramp",
        "green_power_contract_floor",
        "green_power_contract_ramp_share_of_purchase_first",
        "green_power_contract_ramp_share_of_purchase",
        "gec_ramp_share_of_purchase_first",
        "gec_ramp_share_of_purchase",
        "within_purchase",
        "certificate_share",
        "offset_cap",
        "offsets_residual_only",
        "target_0",
        "target_1",
        "target_2",
        "trajectory_green_share",
        "trajectory_fall",
    ]
