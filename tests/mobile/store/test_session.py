"""Who the store belongs to: the same user keeps everything across log-ins and logouts;
another user is refused while anything is queued, and gets a clean store (no trace of the
previous user, a new installation id, numbering from 1) once nothing is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from mobile.store import Store, UserSwitchRefused, rows
from mobile.store.core import ACCESS_TOKEN, CURSOR, LAST_SEQ, REFRESH_TOKEN, REGISTERED
from shared.ids import uuid7
from shared.sync import Outcome, Result
from tests.mobile.helpers import page, put, work_order

ME = {"id": str(uuid7()), "org_id": str(uuid7()), "engineer_id": str(uuid7()), "full_name": "Mei"}


@pytest.fixture
def mei(store: Store) -> Store:
    store.begin_session("mei@example.com", organisation=None)
    store.set_meta(**{ACCESS_TOKEN: "a", REFRESH_TOKEN: "r", CURSOR: "c9", REGISTERED: "1"})
    store.remember_user(ME)
    return store


def _work(store: Store, tmp_path: Path) -> dict[str, Any]:
    row = work_order("accepted", assignee_id=ME["engineer_id"])
    store.apply_page(
        page(put("work_order", row), put("part", {"id": "p", "sku": "S", "name": "N"}))
    )
    store.add_note(row["id"], "queued")
    store.capture_signature(
        row["id"], png=b"\x89PNG\r\n\x1a\n" + os.urandom(8), strokes=[], signer_name="Li"
    )
    return row


def _answer_everything(store: Store) -> None:
    seqs = [e.seq for e in store.outbox()]
    store.record_results([Result(s, Outcome.APPLIED) for s in seqs], last_seq=max(seqs))
    for upload in store.pending_uploads():
        store.finish_upload(upload.sha256)


def test_the_store_knows_who_is_logged_in(mei: Store) -> None:
    assert mei.engineer_id() == ME["engineer_id"]
    assert mei.user() == {
        "username": "mei@example.com",
        "organisation": None,
        "user_id": ME["id"],
        "org_id": ME["org_id"],
        "engineer_id": ME["engineer_id"],
        "full_name": "Mei",
    }


def test_the_same_user_keeps_everything(mei: Store, tmp_path: Path) -> None:
    row = _work(mei, tmp_path)
    cursor, client_id = mei.cursor, mei.client_id
    mei.logout()
    assert mei.get_meta(REFRESH_TOKEN) is None and mei.get_meta(ACCESS_TOKEN) is None
    assert mei.pending_count() == 2 and mei.pending_uploads_count() == 1

    mei.begin_session(" MEI@example.com", organisation="acme")
    mei.remember_user(ME)

    assert mei.pending_count() == 2 and mei.pending_uploads_count() == 1
    assert mei.get(rows.WORK_ORDER, row["id"]) is not None
    assert (mei.cursor, mei.client_id) == (cursor, client_id)
    assert mei.engineer_id() == ME["engineer_id"]


@pytest.mark.parametrize("queued", ["outbox", "upload", "timer"])
def test_another_user_is_refused_while_anything_is_queued(
    mei: Store, tmp_path: Path, queued: str
) -> None:
    row = _work(mei, tmp_path)
    _answer_everything(mei)
    if queued == "outbox":
        mei.add_note(row["id"], "not sent yet")
    elif queued == "upload":
        photo = tmp_path / "p.jpg"
        photo.write_bytes(b"\xff\xd8\xff" + os.urandom(32))
        mei.register_photo(row["id"], photo)
        mei.record_results([Result(len(mei.outbox()), Outcome.APPLIED)])
    else:
        mei.start_timer(row["id"], "work")
    client_id = mei.client_id

    with pytest.raises(UserSwitchRefused) as refused:
        mei.begin_session("li@example.com", organisation=None)

    assert refused.value.pending == 1
    assert "mei@example.com" in str(refused.value)
    assert mei.user()["username"] == "mei@example.com"  # type: ignore[index]
    assert mei.client_id == client_id and mei.get(rows.WORK_ORDER, row["id"]) is not None


def test_the_same_address_in_another_organisation_is_another_user(mei: Store) -> None:
    mei.set_meta(organisation="acme")
    row = work_order("accepted")
    mei.apply_page(page(put("work_order", row)))
    mei.add_note(row["id"], "queued")
    with pytest.raises(UserSwitchRefused):
        mei.begin_session("mei@example.com", organisation="other-employer")
    mei.begin_session("mei@example.com", organisation="ACME")  # the same one


def test_another_user_gets_a_clean_store_once_nothing_is_queued(mei: Store, tmp_path: Path) -> None:
    row = _work(mei, tmp_path)
    _answer_everything(mei)
    mei.apply_page(page(put("stock_balance", {"id": "p", "on_hand": "2"}), cursor="c10"))
    old_client = mei.client_id
    assert mei.blob_dir.exists()

    mei.begin_session("li@example.com", organisation=None)

    assert mei.client_id != old_client
    for key in (CURSOR, LAST_SEQ, REGISTERED, ACCESS_TOKEN, REFRESH_TOKEN):
        assert mei.get_meta(key) is None, key
    assert mei.engineer_id() is None
    assert mei.user() == dict.fromkeys(
        ("username", "organisation", "user_id", "org_id", "engineer_id", "full_name")
    ) | {"username": "li@example.com"}
    assert mei.get(rows.WORK_ORDER, row["id"]) is None
    assert mei.outbox() == [] and mei.failed_uploads() == {} and mei.pending_uploads() == []
    assert mei.search_parts("") == [] and mei.search_parts("n") == [] and mei.van_stock() == []
    assert mei.attention() == []
    assert not mei.blob_dir.exists()  # the previous customer's signature image

    # The new installation numbers its mutations from 1, as the server expects.
    mine = work_order("accepted")
    mei.apply_page(page(put("work_order", mine)))
    mei.add_note(mine["id"], "Li's first note")
    assert [e.seq for e in mei.outbox()] == [1]


def test_the_server_naming_another_account_is_refused_while_work_is_queued(
    mei: Store, tmp_path: Path
) -> None:
    """The same e-mail, but the server says another account (a login that named no
    organisation): the tokens just obtained are forgotten, the work stays."""
    row = _work(mei, tmp_path)
    mei.set_meta(**{ACCESS_TOKEN: "new-a", REFRESH_TOKEN: "new-r"})
    other = {**ME, "id": str(uuid7()), "engineer_id": str(uuid7())}

    with pytest.raises(UserSwitchRefused):
        mei.remember_user(other)

    assert mei.get_meta(ACCESS_TOKEN) is None and mei.get_meta(REFRESH_TOKEN) is None
    assert mei.engineer_id() == ME["engineer_id"]
    assert mei.get(rows.WORK_ORDER, row["id"]) is not None and mei.pending_count() == 2

    _answer_everything(mei)
    mei.set_meta(**{ACCESS_TOKEN: "new-a"})
    mei.remember_user(other)
    assert mei.engineer_id() == other["engineer_id"]
    assert mei.get(rows.WORK_ORDER, row["id"]) is None
    assert mei.get_meta(ACCESS_TOKEN) == "new-a"  # the new user's own tokens stay


def test_pending_counts_only_what_the_server_has_not_answered(store: Store) -> None:
    row = work_order("accepted")
    store.apply_page(page(put("work_order", row)))
    for text in ("a", "b", "c", "d"):
        store.add_note(row["id"], text)
    store.mark_sent([1, 2])
    store.record_results([Result(1, Outcome.APPLIED), Result(3, Outcome.REJECTED, error={})])
    assert store.pending_count() == 2  # seq 2 sent, seq 4 pending
