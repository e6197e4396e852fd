"""The committed catalogues serve every string the app shows: `tools/i18n.py check` passes.

This is the test that fails when a screen gains a string nobody translated (a new ``_()``
in Python or kv missing from zh_CN.po, or there with an empty msgstr), when a .po was edited
and not compiled, or when a translation lost a ``{placeholder}``. The fix is in
docs/translations.md: `make i18n`, translate, `make i18n` again."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from mobile.i18n import LOCALEDIR, Translator

ROOT = Path(__file__).resolve().parents[3]
IDEOGRAPH = re.compile(r"[\u4e00-\u9fff]")
SAME_IN_CHINESE = {"SLA"}  # an acronym Chinese engineers use as is


def test_every_ui_string_is_translated_and_compiled() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "i18n.py"), "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, "tools/i18n.py check:\n" + result.stdout + result.stderr
    assert result.stdout == ""


def test_the_chinese_catalogue_is_chinese() -> None:
    """No English pasted in as a translation: each msgstr has an ideograph (or is one of the
    few words Chinese writes the same)."""
    po = (LOCALEDIR / "zh_CN" / "LC_MESSAGES" / "fixflow.po").read_text(encoding="utf-8")
    pairs = re.findall(r'^msgid "(.+)"\n(?:msgid_plural .*\n)?msgstr(?:\[0\])? "(.*)"$', po, re.M)
    assert len(pairs) > 80
    english = [(msgid, text) for msgid, text in pairs if not IDEOGRAPH.search(text)]
    assert [msgid for msgid, _ in english] == sorted(SAME_IN_CHINESE)


def test_the_compiled_catalogue_is_the_one_the_app_loads() -> None:
    chinese = Translator("zh_CN")
    assert chinese.gettext("Customer signature") == "客户签名"
    assert chinese.gettext("Search parts by name, SKU or barcode") == "按名称、SKU 或条码搜索备件"
