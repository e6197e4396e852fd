"""``GET /tickets/{id}/candidates`` and ``POST /tickets/{id}/auto-assign``."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from server.auth import Actor
from server.auth.http import require
from server.deps import SessionDep
from server.dispatch.candidates import service
from server.dispatch.candidates.schemas import (
    AutoAssignOut,
    CandidateOut,
    CandidatesOut,
    FilteredOut,
    LoadOut,
    ReasonOut,
)
from server.dispatch.recommend import Reason
from server.http import AsciiDigits, problems
from server.tickets import format_number

router = APIRouter(prefix="/api/v1/tickets", tags=["dispatch"])
# The answer names engineers, their load and rating: an API key needs both scopes.
Reader = Annotated[Actor, require("tickets:read", "engineers:read")]
Writer = Annotated[Actor, require("tickets:write", "engineers:read")]
Lang = Annotated[
    Literal["en", "zh_CN"] | None,
    Query(description="Language of the reasons (default: the caller's language)"),
]


def _reason(ranked: service.Ranked, reason: Reason) -> ReasonOut:
    params = {k: v for k, v in reason.params.items()}
    return ReasonOut(code=reason.code, params=params, text=ranked.text(reason))


def to_out(ranked: service.Ranked) -> CandidatesOut:
    names = ranked.names
    at = service.instant
    return CandidatesOut(
        ticket_id=ranked.ticket_id,
        number=format_number(ranked.number),
        mode=ranked.ask.mode,
        earliest_start=ranked.ask.earliest,
        latest_start=ranked.ask.latest,
        date=ranked.ask.date,
        timezone=ranked.tz.key,
        language=ranked.language,
        feasible=ranked.result.feasible,
        candidates=[
            CandidateOut(
                rank=i,
                engineer_id=uuid.UUID(c.engineer_id),
                name=names.get(c.engineer_id, ""),
                score=round(c.score, 3),
                components={k: round(v, 3) for k, v in c.components.items()},
                insert_position=c.position,
                arrival=at(c.arrival),
                start=at(c.start),
                end=at(c.end),
                travel_added_seconds=c.travel_added,
                sla_slack_seconds=c.sla_slack,
                load=LoadOut(jobs=c.load[0], work_seconds=c.load[1]),
                rating=c.rating,
                has_parts=c.has_parts,
                missing_parts=c.missing_parts,
                preferred=c.preferred,
                reasons=[_reason(ranked, r) for r in c.reasons],
            )
            for i, c in enumerate(ranked.result.candidates, start=1)
        ],
        filtered=[
            FilteredOut(
                engineer_id=uuid.UUID(f.engineer_id),
                name=names.get(f.engineer_id, ""),
                reason=_reason(ranked, f.reason),
            )
            for f in ranked.result.filtered
        ],
    )


@router.get(
    "/{ticket_id}/candidates",
    summary="Engineers ranked for a work order, with reasons",
    description=(
        "Every active engineer, ranked: the earliest feasible start when the work order is "
        "inserted into their day, the travel it adds, the SLA slack, their load and rating, "
        "whether the van holds the parts, each score component and the reasons in `lang` "
        "(`en`, `zh_CN`; default the caller's language). Engineers who cannot take it are "
        "listed in `filtered` with why (missing skill, off shift, outside territory, "
        "declined, would break another job's window or SLA, ...). `mode=now` for urgent "
        "work, `mode=scheduled` for its appointment window (default: scheduled when it has "
        "a window that has not ended). Back office only. See docs/dispatch.md."
    ),
    response_model=CandidatesOut,
    responses=problems(403, 404, 409),
)
async def candidates(
    ticket_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    mode: Annotated[
        Literal["now", "scheduled"] | None, Query(description="now (urgent) or scheduled")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=200, description="Candidates listed, best first"), AsciiDigits
    ] = 20,
    lang: Lang = None,
) -> CandidatesOut:
    ranked = await service.rank(
        session, actor, ticket_id=ticket_id, mode=mode, limit=limit, lang=lang
    )
    return to_out(ranked)


@router.post(
    "/{ticket_id}/auto-assign",
    summary="Assign a work order to its best candidate",
    description=(
        "Assigns the best candidate (as `GET /candidates` ranks them) with an `assign` event "
        "saying why. When nobody can take it, nothing is assigned and the answer says why; "
        "with the priority's auto-assign rule set to fall back to the claim pool, the work "
        "order is opened for claiming instead. Dispatchers and admins."
    ),
    response_model=AutoAssignOut,
    responses=problems(403, 404, 409),
)
async def auto_assign(
    ticket_id: uuid.UUID,
    session: SessionDep,
    actor: Writer,
    mode: Annotated[
        Literal["now", "scheduled"] | None, Query(description="now (urgent) or scheduled")
    ] = None,
    lang: Lang = None,
) -> AutoAssignOut:
    return await service.auto_assign(session, actor, ticket_id=ticket_id, mode=mode, lang=lang)
