"""Rendering a message: every template in both languages, and times nobody has set."""

from __future__ import annotations

import pytest

from server.notify import templates


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_a_window_or_eta_nobody_set_reads_to_be_arranged(lang: str) -> None:
    params = {"customer": "Li", "engineer": "Wei", "number": "WO-000001", "title": "Leak"}
    _, assigned = templates.render("engineer_assigned", lang, {**params, "window": ""})  # type: ignore[arg-type]
    _, on_the_way = templates.render("engineer_on_the_way", lang, {**params, "eta": None})  # type: ignore[arg-type]
    for body in (assigned, on_the_way):
        assert templates.NOT_SET[lang] in body
    _, set_window = templates.render(
        "engineer_assigned",
        lang,  # type: ignore[arg-type]
        {**params, "window": "2026-12-08 09:00-11:00 (Asia/Shanghai)"},
    )
    assert "09:00-11:00" in set_window and templates.NOT_SET[lang] not in set_window


@pytest.mark.parametrize("template", sorted(templates.TEMPLATES))
def test_every_template_has_both_languages_with_the_same_placeholders(template: str) -> None:
    import string

    def names(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    en, zh = templates.TEMPLATES[template]["en"], templates.TEMPLATES[template]["zh_CN"]
    assert all(en) and all(zh)
    assert names(en[0]) | names(en[1]) == names(zh[0]) | names(zh[1])
