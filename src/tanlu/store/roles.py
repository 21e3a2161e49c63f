"""Roles and kinds of organisation: plain enums, importable without the database."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a member of an organisation may do, each role including the ones before it."""

    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class OrganisationKind(StrEnum):
    """A company reports its own inventory; a parent consolidates its subsidiaries'; a
    regulator sees the totals that organisations choose to share with it. In carbon inclusion
    (碳普惠), a city runs a scheme's ledger and an operator (a metro, bus or bike-sharing
    company, an app) sends it its users' actions."""

    COMPANY = "company"
    PARENT = "parent"
    REGULATOR = "regulator"
    CITY = "city"
    OPERATOR = "operator"
