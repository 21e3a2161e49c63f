"""The carbon-inclusion ledger's records in the service's database: which operators a city's
scheme takes batches from, under which code, and every batch received with what the ledger
made of it (docs/service.md "Carbon inclusion"). The ledger's entries are the city's ledger
folder (docs/ledger.md), written by :mod:`tanlu.app.ledger_service` under the folder's lock.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased

from tanlu.errors import ConflictError, NotFoundError, StoreError
from tanlu.store.audit import AuditRecord, append_in, write
from tanlu.store.database import now, session_scope
from tanlu.store.models import LedgerBatch, Organisation, SchemeOperator
from tanlu.store.roles import OrganisationKind

# An operator's code, as its batch files write it in their ``operator`` column.
OPERATOR_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
NO_OPERATOR = "no operator of that name"


@dataclass(frozen=True)
class SchemeLink:
    """An operator registered with a city's scheme under ``code``."""

    id: int
    city_id: int
    city: str
    operator_id: int
    operator: str
    code: str
    created_at: str
    created_by: str


@dataclass(frozen=True)
class BatchRecord:
    """A batch an operator sent to a city's ledger, with the ingest's counts (``summary``)."""

    id: int
    city_id: int
    city: str
    operator_id: int
    operator: str
    file_name: str
    file_sha256: str
    received_at: str
    received_by: str
    summary: dict[str, Any]


def organisation_kind(engine: Engine, organisation_id: int) -> OrganisationKind:
    """The kind of an organisation (:class:`NotFoundError` for one that does not exist)."""
    with session_scope(engine) as session:
        kind = session.scalar(select(Organisation.kind).where(Organisation.id == organisation_id))
    if kind is None:
        raise NotFoundError("no such organisation")
    return OrganisationKind(kind)


def require_kind(engine: Engine, organisation_id: int, kind: OrganisationKind) -> None:
    """:class:`ConflictError` unless the organisation is of ``kind``."""
    found = organisation_kind(engine, organisation_id)
    if found is not kind:
        raise ConflictError(f"this needs an organisation of kind {kind.value}, not {found.value}")


def register_operator(
    engine: Engine, city_id: int, operator: str, code: str, actor: str
) -> SchemeLink:
    """Register the operator named exactly ``operator`` with the city's scheme under ``code``
    (an audit entry). An unknown name and an organisation of another kind get one answer."""
    if not OPERATOR_CODE.match(code):
        raise StoreError(
            f"'{code}' is not an operator code (1 to 100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit)"
        )

    def work(session: Session) -> SchemeLink:
        city = session.get(Organisation, city_id)
        if city is None or city.kind != OrganisationKind.CITY.value:
            raise ConflictError("only a city's scheme registers operators")
        found = session.scalar(select(Organisation).where(Organisation.name == operator))
        if found is None or found.kind != OrganisationKind.OPERATOR.value:
            raise NotFoundError(NO_OPERATOR)
        taken = session.scalar(
            select(SchemeOperator).where(
                SchemeOperator.city_id == city_id,
                (SchemeOperator.operator_id == found.id) | (SchemeOperator.code == code),
            )
        )
        if taken is not None:
            raise ConflictError(
                f"the operator is registered already (code '{taken.code}')"
                if taken.operator_id == found.id
                else f"the code '{code}' is another operator's"
            )
        link = SchemeOperator(
            city_id=city_id,
            operator_id=found.id,
            code=code,
            created_at=now(),
            created_by=actor,
        )
        session.add(link)
        session.flush()
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action="ledger.operator.register",
                target=f"scheme operator {link.id}",
                reason="",
                organisation_id=city_id,
                before=None,
                after={"operator_id": found.id, "code": code},
            ),
        )
        return SchemeLink(
            link.id, city_id, city.name, found.id, found.name, code, link.created_at, actor
        )

    return write(engine, work)


def scheme_links(engine: Engine, organisation_id: int) -> list[SchemeLink]:
    """A city's registered operators, or the cities an operator is registered with."""
    city, operator = aliased(Organisation), aliased(Organisation)
    with session_scope(engine) as session:
        rows = session.execute(
            select(SchemeOperator, city.name, operator.name)
            .join(city, city.id == SchemeOperator.city_id)
            .join(operator, operator.id == SchemeOperator.operator_id)
            .where(
                (SchemeOperator.city_id == organisation_id)
                | (SchemeOperator.operator_id == organisation_id)
            )
            .order_by(SchemeOperator.id)
        ).all()
    return [
        SchemeLink(
            link.id,
            link.city_id,
            city_name,
            link.operator_id,
            operator_name,
            link.code,
            link.created_at,
            link.created_by,
        )
        for link, city_name, operator_name in rows
    ]


def operator_link(engine: Engine, operator_id: int, city_id: int) -> SchemeLink:
    """The operator's registration with the city (:class:`NotFoundError` when there is none:
    the same answer for a city that does not exist)."""
    for link in scheme_links(engine, operator_id):
        if link.city_id == city_id and link.operator_id == operator_id:
            return link
    raise NotFoundError("the operator is not registered with that city's scheme")


def record_batch(
    engine: Engine,
    link: SchemeLink,
    file_name: str,
    file_sha256: str,
    summary: dict[str, Any],
    actor: str,
) -> BatchRecord:
    """Record a batch the city's ledger took (an audit entry in the operator's log and one in
    the city's)."""

    def work(session: Session) -> BatchRecord:
        batch = LedgerBatch(
            city_id=link.city_id,
            operator_id=link.operator_id,
            file_name=file_name,
            file_sha256=file_sha256,
            received_at=now(),
            received_by=actor,
            summary=json.dumps(summary, sort_keys=True),
        )
        session.add(batch)
        session.flush()
        for organisation_id in (link.operator_id, link.city_id):
            append_in(
                session,
                AuditRecord(
                    actor=actor,
                    action="ledger.batch",
                    target=f"ledger batch {batch.id}",
                    reason="",
                    organisation_id=organisation_id,
                    before=None,
                    after={"file_sha256": file_sha256, **_counts(summary)},
                ),
            )
        return _batch(batch, link.city, link.operator)

    return write(engine, work)


def _counts(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if isinstance(v, int | float)}


def _batch(batch: LedgerBatch, city: str, operator: str) -> BatchRecord:
    return BatchRecord(
        batch.id,
        batch.city_id,
        city,
        batch.operator_id,
        operator,
        batch.file_name,
        batch.file_sha256,
        batch.received_at,
        batch.received_by,
        json.loads(batch.summary),
    )


def list_batches(engine: Engine, organisation_id: int, limit: int = 100) -> list[BatchRecord]:
    """The newest batches an operator sent, or a city received, newest first."""
    city, operator = aliased(Organisation), aliased(Organisation)
    with session_scope(engine) as session:
        rows = session.execute(
            select(LedgerBatch, city.name, operator.name)
            .join(city, city.id == LedgerBatch.city_id)
            .join(operator, operator.id == LedgerBatch.operator_id)
            .where(
                (LedgerBatch.city_id == organisation_id)
                | (LedgerBatch.operator_id == organisation_id)
            )
            .order_by(LedgerBatch.id.desc())
            .limit(limit)
        ).all()
        return [_batch(batch, c, o) for batch, c, o in rows]


def record_ledger_action(
    engine: Engine,
    organisation_id: int,
    action: str,
    target: str,
    reason: str,
    after: dict[str, Any],
    actor: str,
) -> None:
    """An audit entry of a change a city made to its ledger (a reversal), which the ledger
    folder holds itself."""

    def work(session: Session) -> None:
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action=action,
                target=target,
                reason=reason,
                organisation_id=organisation_id,
                before=None,
                after=after,
            ),
        )

    write(engine, work)
