"""Activity data x emission factors -> the GHG inventory (scopes 1, 2 both methods, 3)."""

from tanlu.inventory.calculate import (
    InventoryResult,
    ProjectInputs,
    calculate_inventory,
    check_inputs,
    load_inputs,
)

__all__ = ["InventoryResult", "ProjectInputs", "calculate_inventory", "check_inputs", "load_inputs"]
