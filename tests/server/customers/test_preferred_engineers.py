"""A customer's preferred engineers: the dispatcher's choice, replaced as a whole."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import make_engineer, make_tenant


async def test_the_list_is_replaced_and_read_back_with_the_customers_version(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    assert t.customer
    url = f"/api/v1/customers/{t.customer.id}/preferred-engineers"
    headers = t.headers("dispatcher")
    empty = await client.get(url, headers=headers)
    assert empty.status_code == 200 and empty.json()["engineer_ids"] == []
    tag = empty.headers["etag"]
    ids = sorted(str(e.id) for e in t.engineers)
    put = await client.put(url, json={"engineer_ids": ids}, headers={**headers, "If-Match": tag})
    assert put.status_code == 200, put.text
    assert put.json()["engineer_ids"] == ids and put.headers["etag"] == '"v2"'
    # The customer's ETag moved with it: an edit made on the old read is refused.
    customer = await client.patch(
        f"/api/v1/customers/{t.customer.id}",
        json={"contact_name": "Wang Wei"},
        headers={**headers, "If-Match": tag},
    )
    assert customer.status_code == 412
    cleared = await client.put(
        url, json={"engineer_ids": []}, headers={**headers, "If-Match": '"v2"'}
    )
    assert cleared.status_code == 200 and cleared.json()["engineer_ids"] == []
    assert (await client.get(url, headers=headers)).json()["engineer_ids"] == []


async def test_each_must_be_an_active_engineer_of_the_organisation(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    stranger = await make_tenant(db, "Stranger")
    _, retired = await make_engineer(db, t.org, active=False)
    assert t.customer
    url = f"/api/v1/customers/{t.customer.id}/preferred-engineers"
    headers = {**t.headers("admin"), "If-Match": '"v1"'}
    good = str(t.engineers[0].id)
    for second, says in (
        (str(stranger.engineers[0].id), "not found"),
        (str(uuid.uuid4()), "not found"),
        (str(retired.id), "inactive"),
        (good, "twice"),
    ):
        sent = await client.put(url, json={"engineer_ids": [good, second]}, headers=headers)
        assert sent.status_code == 422, sent.text
        assert sent.json()["field"] == "engineer_ids[1]" and says in sent.json()["detail"]
    # Nothing was written by the refusals.
    read = await client.get(url, headers=t.headers("admin"))
    assert read.json()["engineer_ids"] == [] and read.headers["etag"] == '"v1"'


async def test_only_managers_choose_and_other_tenants_get_404(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    stranger = await make_tenant(db, "Stranger")
    assert t.customer
    url = f"/api/v1/customers/{t.customer.id}/preferred-engineers"
    body = {"engineer_ids": [str(t.engineers[0].id)]}
    agent = await client.put(url, json=body, headers={**t.headers("agent"), "If-Match": '"v1"'})
    assert agent.status_code == 403
    foreign = await client.put(
        url, json=body, headers={**stranger.headers("admin"), "If-Match": '"v1"'}
    )
    assert foreign.status_code == 404
    assert (await client.get(url, headers=stranger.headers("admin"))).status_code == 404
