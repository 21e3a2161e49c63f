"""What every route depends on: who may call it (stated in its OpenAPI entry), and the caller's
account in the organisation of its path at the role the route needs."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, ValidationInfo, field_validator

from tanlu.service.security import Principal, identify, require_role
from tanlu.store.accounts import Account
from tanlu.store.roles import Role

ACCESS_KEY = "x-tanlu-access"
TOKEN_KEY = "x-tanlu-api-tokens"


def access(level: str, tokens: bool = True) -> dict[str, Any]:
    """The ``openapi_extra`` that states who may call a route: ``level`` and whether an API
    token may (``tokens``) or only a signed-in browser session."""
    return {ACCESS_KEY: level, TOKEN_KEY: tokens}


class Body(BaseModel):
    """A request's JSON body whose numbers take JSON numbers only (``1`` and ``1.0``, not
    ``"1"`` nor ``true``) and whose flags take JSON's true and false only (not ``0``), so that
    the service refuses what its OpenAPI document says is not valid (pydantic alone converts
    them; its strict mode would refuse ``1.0`` for an integer and, as FastAPI validates,
    an enumeration's text)."""

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields[info.field_name] if info.field_name else None
        kinds = set(get_args(field.annotation) or (field.annotation,)) if field else set()
        if bool in kinds and value is not None and not isinstance(value, bool):
            raise ValueError("should be true or false")
        if kinds & {int, float} and isinstance(value, str | bytes | bool):
            raise ValueError("should be a number, not text nor true or false")
        return value


def json_number(value: Any) -> Any:
    """A list item that takes a JSON number only (``Annotated[float, BeforeValidator(...)]``):
    :class:`Body` checks its fields, not what their lists hold."""
    if isinstance(value, str | bytes | bool):
        raise ValueError("should be a number, not text nor true or false")
    return value


# printable text only: no control characters (PostgreSQL's text cannot hold NUL)
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def _caller(request: Request) -> Principal:
    """The caller of a request, on the database of the app that serves it."""
    return identify(request.app.state.engine, request)


# Module-level names: the routes' annotations are resolved from this module's globals.
Caller = Annotated[Principal, Depends(_caller)]


def _member(minimum: Role) -> Any:
    """A dependency: the caller's account in the path's organisation, at ``minimum`` role or
    higher (404 for an organisation they are not in, 403 below the role). A dependency runs
    before the request body is read, so a caller without the role learns nothing of it."""

    # async: it does no I/O, so it runs on the event loop rather than taking a request thread
    async def dependency(organisation_id: int, principal: Caller) -> Account:
        return require_role(principal, organisation_id, minimum)

    return Depends(dependency)


async def _signed_in(principal: Caller) -> Principal:
    """A dependency: the caller, if signed in with a password (a browser session), not an API
    token (403); on the event loop, as it does no I/O."""
    if principal.by_token:
        raise HTTPException(403, "sign in with a password to do this; an API token cannot")
    return principal


SignedInCaller = Annotated[Principal, Depends(_signed_in)]
Viewer = Annotated[Account, _member(Role.VIEWER)]
Reviewer = Annotated[Account, _member(Role.REVIEWER)]
Contributor = Annotated[Account, _member(Role.CONTRIBUTOR)]
Admin = Annotated[Account, _member(Role.ADMIN)]
