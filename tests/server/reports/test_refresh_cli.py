"""`fixflow kpi-refresh` against the test database (committed, like the other CLI tests)."""

from __future__ import annotations

import re
import uuid

from typer.testing import CliRunner

from server.cli import app as cli


def test_kpi_refresh_rebuilds_one_organisation_or_says_there_is_none(
    infra: dict[str, str],
) -> None:
    email = f"kpi-{uuid.uuid4().hex[:8]}@example.com"
    org = f"KPI {uuid.uuid4().hex[:6]}"
    password = ["--password", "a-long-password-1"]
    made = CliRunner().invoke(cli, ["create-admin", "--email", email, "--org", org, *password])
    assert made.exit_code == 0, made.output
    found = re.search(r"organisation '([^']+)'", made.output)
    assert found is not None, made.output
    slug = found.group(1)
    result = CliRunner().invoke(cli, ["kpi-refresh", "--org", slug, "--full"])
    assert result.exit_code == 0, result.output
    assert f"{slug}: 0 work orders, 0 engineer days refreshed" in result.output
    missing = CliRunner().invoke(cli, ["kpi-refresh", "--org", "no-such-org"])
    assert missing.exit_code == 1 and "no organisation 'no-such-org'" in missing.output
