"""The maintained way to regenerate fb_region_keys.json, against the sandbox's region search."""

import json

import pytest

pytestmark = pytest.mark.integration


def test_refresh_reports_no_difference_then_rewrites_a_damaged_file(sandbox, tmp_path, capsys):
    from closrads.core.regions import REGION_KEYS_FILE
    from scripts.refresh_region_keys import main

    copy = tmp_path / "fb_region_keys.json"
    copy.write_text(REGION_KEYS_FILE.read_text())
    assert main(["--file", str(copy)]) == 0
    assert "all 51 region keys match" in capsys.readouterr().out

    damaged = json.loads(copy.read_text())
    damaged["OH"]["key"] = "1"
    del damaged["WY"]
    copy.write_text(json.dumps(damaged))
    assert main(["--file", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "~ OH: 1 (Ohio) -> 3878 (Ohio)" in out and "+ WY: 3893 (Wyoming)" in out

    assert main(["--file", str(copy), "--write"]) == 0
    assert json.loads(copy.read_text()) == json.loads(REGION_KEYS_FILE.read_text())
    assert len(sandbox.requests("graph", kind="search")) == 3
