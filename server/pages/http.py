"""Rendering a customer page: templates, messages, language, and the headers every page has.

Each domain that serves pages keeps its templates in its own ``templates/`` folder
(``register_templates``) and its words in a ``Messages`` table (``add_messages``): English
and Simplified Chinese, a missing Chinese entry falls back to English, a missing key is a
programming error (tests/server/pages check every table). Templates call ``t("key",
name=value)``; placeholders are ``{name}``.

Pages work without JavaScript, carry no third-party resources (the CSS is inline in the
base template), are never cached by shared caches, never framed, and send no referrer
(the token is in the URL).
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException
from starlette.types import Scope

from server import languages
from server.languages import Language

Messages = Mapping[str, Mapping[str, str]]  # language -> key -> text

_HERE = pathlib.Path(__file__).resolve().parent
_loaders: list[FileSystemLoader] = [FileSystemLoader(_HERE / "templates")]
_messages: dict[str, dict[str, str]] = {lang: {} for lang in languages.LANGUAGES}
env = Environment(
    loader=ChoiceLoader(_loaders),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}


def register_templates(folder: pathlib.Path) -> None:
    """Add a domain's template folder (its names must not clash with another's)."""
    if not any(str(folder) in loader.searchpath for loader in _loaders):
        _loaders.append(FileSystemLoader(folder))


def add_messages(table: Messages) -> None:
    """Add a domain's words; a key defined twice with other words is a programming error."""
    for lang, entries in table.items():
        if lang not in _messages:
            raise ValueError(f"unsupported language {lang!r}")
        for key, value in entries.items():
            if _messages[lang].get(key, value) != value:
                raise ValueError(f"message {key!r} ({lang}) is defined twice")
            _messages[lang][key] = value


def text(lang: Language, key: str, **values: Any) -> str:
    """One message in ``lang`` (English when Chinese lacks it), placeholders filled."""
    found = _messages[lang].get(key) or _messages[languages.DEFAULT].get(key)
    if found is None:
        raise KeyError(f"no message {key!r}")
    return found.format(**values) if values else found


def language_for(request: Request, preferred: str | None = None) -> Language:
    """``?lang=``, else the language the link was made for, else the browser's, else English."""
    return (
        languages.language(request.query_params.get("lang"))
        or languages.language(preferred)
        or languages.from_accept_language(request.headers.get("accept-language"))
        or languages.DEFAULT
    )


async def read_form(
    request: Request,
    *,
    max_fields: int,
    file_field: str | None = None,
    max_files: int = 0,
    max_file_bytes: int = 0,
) -> tuple[dict[str, str], list[bytes]] | None:
    """A page's posted form: each field's first value, and the bytes of the files sent as
    ``file_field`` (each read to at most ``max_file_bytes`` + 1, so the caller sees it is too
    big); None for a body that is not a readable form (no boundary, garbage, too many
    fields or files), which the page answers by asking again, never with a JSON problem.
    U+0000 is removed from every value: PostgreSQL text cannot hold it, and the person
    typing never meant it."""
    try:
        form = await request.form(max_files=max_files, max_fields=max_fields)
    except (HTTPException, ValueError):  # a chunked body past the limit too (413)
        return None
    fields: dict[str, str] = {}
    sent: list[bytes] = []
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key.replace("\x00", ""), value.replace("\x00", ""))
        elif file_field is not None and key == file_field:
            sent.append(await value.read(max_file_bytes + 1))
    return fields, sent


def page(
    template: str, lang: Language, context: Mapping[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """A rendered page with the customer pages' headers."""

    def t(key: str, **values: Any) -> str:
        return text(lang, key, **values)

    html = env.get_template(template).render(
        **context, t=t, lang=lang, html_lang="zh-CN" if lang == "zh_CN" else "en"
    )
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


add_messages(
    {
        "en": {
            "pages.brand": "Fixflow service",
            "pages.not_found.title": "This link does not work",
            "pages.not_found.body": (
                "The link may have expired or been replaced. Ask the service team for a new"
                " one, or use the latest message they sent you."
            ),
            "pages.language": "中文",
            "pages.too_large.title": "That was too much to send",
            "pages.too_large.body": (
                "What you sent is larger than {mb} MB. Go back and send fewer or smaller photos."
            ),
        },
        "zh_CN": {
            "pages.brand": "Fixflow 服务",
            "pages.not_found.title": "此链接无法使用",
            "pages.not_found.body": (
                "链接可能已过期或已被替换。请联系服务团队获取新链接,或使用他们最近发给您的消息。"
            ),
            "pages.language": "English",
            "pages.too_large.title": "发送的内容太大",
            "pages.too_large.body": (
                "您发送的内容超过 {mb} MB。请返回，减少照片数量或发送较小的照片。"
            ),
        },
    }
)


def not_found(lang: Language) -> HTMLResponse:
    """The one page for a link that does not work (forged, expired, revoked, unknown)."""
    return page("not_found.html", lang, {}, status_code=404)


def too_large(scope: Scope, limit: int) -> HTMLResponse:
    """The page for a form body over the limit, refused before it was read (the request
    middleware answers with it on the pages' paths instead of the API's JSON 413)."""
    request = Request(scope)
    mb = max(1, limit // (1024 * 1024))
    return page("too_large.html", language_for(request), {"mb": mb}, status_code=413)
