"""The cookbook's rules (docs/rules/cookbook.yaml) and their `initgate test` files
(docs/rules/tests): one file per rule, each with objects the rule passes and objects it fails,
all met when run as a platform team runs them in CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from webhook.audit.testcases import read
from webhook.audit.testfile import find
from webhook.core.config import load_config

ROOT = Path(__file__).resolve().parent.parent
COOKBOOK = ROOT / "docs" / "rules" / "cookbook.yaml"
TESTS = ROOT / "docs" / "rules" / "tests"


def test_the_cookbooks_tests_pass() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "webhook.cli", "test", "docs/rules/tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    rules = len(yaml.safe_load(COOKBOOK.read_text())["rules"])
    assert done.stdout.splitlines()[-1].startswith(f"initgate test: {rules} test files; ")


def test_each_rule_has_a_test_file_that_passes_and_fails_it() -> None:
    ids = [rule["id"] for rule in yaml.safe_load(COOKBOOK.read_text())["rules"]]
    assert len(ids) >= 10
    cookbook = load_config(COOKBOOK).rules
    files, problems = find([str(TESTS)])
    assert problems == []
    assert sorted(f.name for f in files) == sorted(f"{i}.initgate-test.yaml" for i in ids)
    for file in files:
        rule = file.name.removesuffix(".initgate-test.yaml")
        suite = read(file)
        assert suite.plan.config.rules == cookbook, file  # the cookbook, as it is
        expected = {result for case in suite.cases for policy, result, _ in case.results}
        assert {"pass", "fail"} <= expected, file
        named = {policy for case in suite.cases for policy, _, _ in case.results}
        assert named == {rule}, file
