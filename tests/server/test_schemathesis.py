"""Fuzzing the API with schemathesis, against its own OpenAPI, with two tenants as peers.

Tenant A's dispatcher (and, separately, A's admin) calls every operation with data
generated from the OpenAPI document: its documented examples, then positive data (fits
the schema) and negative data (does not). Ids in paths, queries and bodies are drawn from
both tenants' real objects as consistent bundles (a customer with its site, asset and
work order) or left random, and a PATCH usually carries the object's real ETag, so most
requests reach the services. Every response must:

- not be a server error (no 5xx);
- conform to the document: a documented status code and content type, a body matching
  the documented schema, documented headers;
- never leak tenant B: a 2xx response holds no id and no name of B's objects, and a
  request naming B's object in its path is never answered 2xx.

After the run, tenant B's rows are exactly as they were (no cross-tenant writes).

How it runs: Hypothesis drives schemathesis' strategies in a worker thread; each request
is sent on the test's event loop through httpx's ASGI transport, so the app's sessions
join the test's rolled-back transaction and nothing leaks into other tests.
Reproducible: derandomized Hypothesis, no example database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import service as auth_service
from server.auth.models import ApiKey, User
from server.customers.models import Asset, Customer, Site
from server.engineers.models import Engineer
from server.orgs.models import Organisation
from server.surveys.models import SurveyTemplate
from server.tickets.models import BusinessCalendar, SlaPolicy, Ticket
from server.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.fixtures.factories import (
    Tenant,
    headers_for,
    make_customer,
    make_policy,
    make_tenant,
    make_ticket,
)
from tests.fixtures.surveys import make_template
from tests.server.reports.kpi_data import fact_of

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
POSITIVE_EXAMPLES = 30
NEGATIVE_EXAMPLES = 12
# /metrics is Prometheus' text exposition format, not a JSON operation: its schema is
# deliberately empty and it takes no input.
EXCLUDED = {("GET", "/metrics")}

# Which family of object an id field (path, query or body) names.
FAMILY_OF = {
    "ticket_id": "ticket",
    "repeat_of_id": "ticket",
    "customer_id": "customer",
    "site_id": "site",
    "asset_id": "asset",
    "parent_id": "asset",
    "engineer_id": "engineer",
    "assignee_id": "engineer",
    "key_id": "api_key",
    "user_id": "user",
    "calendar_id": "calendar",
    "policy_id": "policy",
    "template_id": "survey_template",
    "endpoint_id": "webhook",
    "delivery_id": "webhook_delivery",
}


@dataclass
class Seeded:
    """Both tenants' objects as bundles of ids that fit together, and what of B must
    never reach A."""

    bundles: list[dict[str, str]] = field(default_factory=list)  # A's first, then B's
    b_ids: set[str] = field(default_factory=set)
    b_names: set[str] = field(default_factory=set)

    def is_b(self, value: Any) -> bool:
        return str(value) in self.b_ids


async def _seed_webhook(db: AsyncSession, tenant: Tenant, marker: str) -> tuple[Any, Any]:
    """A webhook endpoint (version 1) with one pending delivery."""
    import datetime as dt

    hook = WebhookEndpoint(
        org_id=tenant.org.id,
        url="https://93.184.216.34/hook",
        event_types=["*"],
        secret="whsec_" + "A" * 44,
        description=f"{marker} webhook",
        version=1,
    )
    db.add(hook)
    await db.flush()
    sent = WebhookDelivery(
        org_id=tenant.org.id,
        endpoint_id=hook.id,
        event_id=uuid.uuid4(),
        event_type="ticket.created",
        body="{}",
        status="pending",
        attempts=0,
        next_attempt_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
    )
    db.add(sent)
    await db.flush()
    return hook, sent


async def _seed_tenant(db: AsyncSession, seeded: Seeded, name: str, *, peer: bool) -> uuid.UUID:
    """A tenant with two customers, each with a site, an asset and two work orders (one
    assigned), two engineers, users, an API key, a calendar and an SLA policy. Its names
    carry a unique marker, so any of them showing up elsewhere is found."""
    tenant = await make_tenant(db, name)
    marker = f"{name}-{uuid.uuid4().hex[:8]}"
    tenant.org.name = f"{marker} organisation"
    assert tenant.customer and tenant.site and tenant.asset
    admin = tenant.actor("admin")
    key, _ = await auth_service.create_api_key(
        db, admin, name=f"{marker} key", scopes=["tickets:read"]
    )
    calendar = BusinessCalendar(
        org_id=tenant.org.id,
        name=f"{marker} calendar",
        timezone="UTC",
        hours={"mon": [["08:00", "17:00"]]},
    )
    db.add(calendar)
    policy = await make_policy(db, tenant.org, "P1", response_minutes=60, resolution_minutes=480)
    survey = await make_template(db, tenant, name=f"{marker} survey")
    hook, hook_delivery = await _seed_webhook(db, tenant, marker)
    for i, engineer in enumerate(tenant.engineers):
        engineer.display_name = f"{marker} engineer {i}"
    names = [
        tenant.org.name,
        tenant.org.slug,
        key.name,
        calendar.name,
        survey.name,
        hook.description,
    ]
    names += [e.display_name for e in tenant.engineers]
    names += [u.email for u in tenant.users.values()]
    extra = await make_customer(db, tenant.org)
    for i, (customer, site, asset) in enumerate(
        [(tenant.customer, tenant.site, tenant.asset), extra]
    ):
        customer.name = f"{marker} customer {i}"
        site.name, site.address = f"{marker} site {i}", f"{marker} road {i}"
        asset.serial_number = f"{marker}-SN{i}"
        names += [customer.name, site.name, site.address, asset.serial_number]
        for assignee in (tenant.engineers[i], None):
            ticket = await make_ticket(
                db,
                tenant.actor("dispatcher"),
                customer,
                site,
                asset,
                assign_to=assignee,
                title=f"{marker} work {i}",
            )
            bundle = {
                "ticket": ticket.id,
                "customer": customer.id,
                "site": site.id,
                "asset": asset.id,
                "engineer": tenant.engineers[i].id,
                "api_key": key.id,
                "user": tenant.users["viewer" if i else "agent"].id,
                "calendar": calendar.id,
                "policy": policy.id,
                "survey_template": survey.id,
                "webhook": hook.id,
                "webhook_delivery": hook_delivery.id,
            }
            seeded.bundles.append({k: str(v) for k, v in bundle.items()})
            names.append(ticket.title)
            db.add(fact_of(ticket, created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)))
    await db.flush()
    if peer:
        seeded.b_ids.add(str(tenant.org.id))
        seeded.b_ids.update(v for b in seeded.bundles[-4:] for v in b.values())
        seeded.b_ids.update(str(u.id) for u in tenant.users.values())
        seeded.b_names.update(n for n in names if n)
    return tenant.org.id


async def _snapshot(db: AsyncSession, org_id: uuid.UUID) -> dict[str, list[str]]:
    """Every row of a tenant that a cross-tenant write could change."""
    snapshot: dict[str, list[str]] = {}
    models: tuple[Any, ...] = (
        Ticket,
        Customer,
        Site,
        Asset,
        Engineer,
        User,
        ApiKey,
        BusinessCalendar,
        SlaPolicy,
        SurveyTemplate,
        WebhookEndpoint,
        WebhookDelivery,
    )
    for model in models:
        rows = (await db.scalars(select(model).where(model.org_id == org_id))).all()
        columns = [c.key for c in model.__table__.columns]
        snapshot[model.__tablename__] = sorted(
            json.dumps({c: getattr(r, c) for c in columns}, default=str, sort_keys=True)
            for r in rows
        )
    org = await db.get(Organisation, org_id)
    snapshot["organisation"] = [json.dumps([org.name, org.timezone] if org else None)]
    return snapshot


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in (*value.keys(), *value.values()) for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@dataclass
class Fuzz:
    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    seeded: Seeded
    auth: dict[str, str]
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send on the test's event loop (this runs in Hypothesis' worker thread)."""
        future = asyncio.run_coroutine_threadsafe(
            self.client.request(method, url, **kwargs), self.loop
        )
        return future.result(timeout=60)

    def send(self, case: Any) -> tuple[dict[str, Any], httpx.Response]:
        sent = case.as_transport_kwargs(base_url="http://test")
        data = sent.get("data")
        response = self.request(
            sent["method"],
            sent["url"],
            headers=sent.get("headers"),
            params=sent.get("params"),
            json=sent.get("json"),
            content=data if isinstance(data, bytes | str) else None,
            data=data if isinstance(data, dict) else None,
        )
        return sent, response

    def fail(self, label: str, kind: str, detail: str) -> None:
        self.failures.setdefault((label, kind), detail[:4000])


def _use_real_ids(case: Any, data: st.DataObject, fuzz: Fuzz) -> None:
    """Swap generated ids for those of one bundle of either tenant (or keep them random),
    and give most PATCHes the object's current ETag."""
    bundle = data.draw(st.sampled_from([None, *fuzz.seeded.bundles]), label="bundle")
    if bundle is not None:

        def swap(container: dict[str, Any]) -> None:
            for name, value in container.items():
                if name in FAMILY_OF and isinstance(value, str):
                    container[name] = bundle[FAMILY_OF[name]]

        swap(case.path_parameters)
        swap(case.query)
        if isinstance(case.body, dict):
            swap(case.body)
    if case.method == "PATCH" and any(p.name == "If-Match" for p in case.operation.headers):
        read = fuzz.request("GET", case.formatted_path, headers=fuzz.auth)
        # Tenant B's objects cannot be read, but are at version 1 or 2: a plausible ETag
        # takes the request past the 428 to the organisation check.
        etag = read.headers.get("etag") or data.draw(st.sampled_from(['"v1"', '"v2"']))
        choices = [etag, etag, etag, case.headers.get("If-Match")]
        chosen = data.draw(st.sampled_from(choices), label="If-Match")
        if chosen is not None:
            case.headers["If-Match"] = chosen
        else:
            case.headers.pop("If-Match", None)


def _check_tenancy(
    fuzz: Fuzz, label: str, case: Any, sent: dict[str, Any], response: httpx.Response
) -> None:
    if not 200 <= response.status_code < 300:
        return
    named_b = [v for v in case.path_parameters.values() if fuzz.seeded.is_b(v)]
    if named_b:
        fuzz.fail(label, "cross-tenant object", f"{sent['url']} -> {response.status_code}")
    is_json = "json" in response.headers.get("content-type", "")
    # A CSV export is searched as one string: a name of B's anywhere in it is a leak.
    body = (response.json() if is_json else response.text) if response.content else None
    leaked = [
        s
        for s in _strings(body)
        if s in fuzz.seeded.b_ids or any(name in s for name in fuzz.seeded.b_names)
    ]
    if leaked:
        fuzz.fail(label, "cross-tenant read", f"{sent['method']} {sent['url']}: {leaked[:5]}")


def _fuzz_operation(fuzz: Fuzz, operation: Any, mode: GenerationMode, examples: int) -> None:
    label = operation.label
    strategy = operation.as_strategy(generation_mode=mode, headers=fuzz.auth)
    if mode is GenerationMode.POSITIVE:
        documented = operation.get_strategies_from_examples(headers=fuzz.auth)
        if documented:
            strategy = st.one_of(st.one_of(*documented), strategy)

    @given(case=strategy, data=st.data())
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],  # no shrinking: failures are collected, not raised
        suppress_health_check=list(HealthCheck),
    )
    def one(case: Any, data: st.DataObject) -> None:
        _use_real_ids(case, data, fuzz)
        sent, response = fuzz.send(case)
        fuzz.statuses[label][response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                fuzz.fail(label, f"{mode.value}: {failure.code} {failure.title}", str(group))
        _check_tenancy(fuzz, label, case, sent, response)

    try:
        one()
    except Unsatisfiable:
        # No input to break (GET /health): there is no negative case to send.
        assert mode is GenerationMode.NEGATIVE, label


async def _run(app: Any, db: AsyncSession, who: str) -> tuple[Fuzz, bool]:
    seeded = Seeded()
    org_a = await _seed_tenant(db, seeded, "Alpha", peer=False)
    org_b = await _seed_tenant(db, seeded, "Beta", peer=True)
    await db.commit()  # releases the factories' savepoint; the test transaction stays open
    user = await db.scalar(select(User).where(User.org_id == org_a, User.role == who))
    assert user is not None
    before = await _snapshot(db, org_b)
    schema = schemathesis.openapi.from_dict(app.openapi(), config=schemathesis.Config())
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if (op.method.upper(), op.path) not in EXCLUDED]
    # Errors must come back as the 500 a real server sends, not as an exception here.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        fuzz = Fuzz(asyncio.get_running_loop(), http, seeded, headers_for(user))

        def run_all() -> None:
            for operation in operations:
                _fuzz_operation(fuzz, operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES)
                _fuzz_operation(fuzz, operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)

        await asyncio.to_thread(run_all)
    db.expire_all()
    untouched = before == await _snapshot(db, org_b)
    return fuzz, untouched


@pytest.mark.parametrize("who", ["dispatcher", "admin"])
async def test_fuzzing_finds_no_server_error_schema_violation_or_cross_tenant_access(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, who: str
) -> None:
    # `client` points the app's sessions at this test's rolled-back transaction.
    fuzz, untouched = await _run(app, db, who)
    report = "\n\n".join(
        f"[{label}] {kind}:\n{detail}" for (label, kind), detail in fuzz.failures.items()
    )
    assert not fuzz.failures, f"{len(fuzz.failures)} distinct failures:\n{report}"
    assert untouched, "tenant B's rows changed during the run"
    # Not vacuous: most operations the role may use answered 2xx at least once (auth works,
    # ids are real). Those it may not use at all (403 and never 2xx: a dispatcher and the
    # admins' webhooks) do not count, but they must stay the minority.
    succeeded = {
        label for label, counts in fuzz.statuses.items() if any(200 <= s < 300 for s in counts)
    }
    refused = {
        label for label, counts in fuzz.statuses.items() if 403 in counts and label not in succeeded
    }
    assert len(refused) < len(fuzz.statuses) // 3, sorted(refused)
    usable = len(fuzz.statuses) - len(refused)
    assert len(succeeded) >= usable // 2, dict(fuzz.statuses)
