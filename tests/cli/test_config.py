"""``python -m sinc_pipeline check``: exit codes and messages of the config check command."""
from __future__ import annotations

import subprocess
import sys

import yaml

from ..pure.test_config import BASE, with_


def test_check_command_exit_codes(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(BASE), encoding="utf-8")
    bad.write_text(yaml.safe_dump(with_("stores.0.nfce_series", 950)), encoding="utf-8")
    ok = subprocess.run([sys.executable, "-m", "sinc_pipeline", "check", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0 and "2 loja(s)" in ok.stdout
    ko = subprocess.run([sys.executable, "-m", "sinc_pipeline", "check", str(bad)], capture_output=True, text=True)
    assert ko.returncode == 1 and "stores[0].nfce_series" in ko.stderr and "950" in ko.stderr

