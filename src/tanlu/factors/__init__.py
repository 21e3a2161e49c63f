"""Emission-factor library: bundled data with sources, project overrides, lookup with fallbacks."""

from tanlu.factors.library import FactorLibrary, load_factor_library
from tanlu.factors.lookup import lookup_factor, resolve_factors

__all__ = ["FactorLibrary", "load_factor_library", "lookup_factor", "resolve_factors"]
