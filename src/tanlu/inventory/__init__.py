"""Activity data x emission factors -> the GHG inventory (scopes 1, 2 both methods, 3)."""

from tanlu.inventory.calculate import InventoryResult, calculate_inventory

__all__ = ["InventoryResult", "calculate_inventory"]
