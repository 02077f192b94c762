"""The policy cookbook cannot drift from the code.

Every recipe in examples/policies/ lints clean (library and ``canopy lint-policy``),
passes its table of cases through the real four-layer pipeline (``canopy
policy-test`` as a process), and is shown byte for byte in docs/POLICY_COOKBOOK.md.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from canopy.authorize import authorize_action
from canopy.decisions.model import Decision
from canopy.decisions.policy import format_issue, lint_policy
from canopy.decisions.policy.cases import load_cases

ROOT = Path(__file__).resolve().parents[1]
RECIPES_DIR = ROOT / "examples" / "policies"
COOKBOOK = ROOT / "docs" / "POLICY_COOKBOOK.md"
RECIPES = sorted(p for p in RECIPES_DIR.glob("*.yaml") if not p.name.endswith(".cases.yaml"))
NAMES = [p.stem for p in RECIPES]
BIN = Path(sys.executable).parent

#: A marker line, then a yaml fence; the block is everything up to the closing fence.
_BLOCK = re.compile(r"^<!-- recipe: ([^ ]+) -->\n```yaml\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)


def cases_of(recipe: Path) -> Path:
    return recipe.with_name(f"{recipe.stem}.cases.yaml")


def canopy(*args: str) -> subprocess.CompletedProcess[str]:
    """``canopy ARGS`` as a real process, with settings that could change decisions unset."""
    found = shutil.which("canopy", path=str(BIN)) or shutil.which("canopy")
    assert found, "canopy is not installed (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if k not in ("CANOPY_MODE", "CANOPY_POLICY_FILE")}
    env["COLUMNS"] = "250"
    return subprocess.run(
        [found, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )


def summary(result: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    found = _SUMMARY.findall(result.stdout)
    assert len(found) == 1, result.stdout + result.stderr
    passed, failed = found[0]
    return int(passed), int(failed)


def cookbook_blocks() -> list[tuple[str, str]]:
    # bytes decoded without newline translation: the comparison is byte for byte
    return _BLOCK.findall(COOKBOOK.read_bytes().decode("utf-8"))


def test_eight_to_ten_recipes_each_beside_its_cases() -> None:
    assert 8 <= len(RECIPES) <= 10, NAMES
    for recipe in RECIPES:
        assert cases_of(recipe).is_file(), f"{recipe.name} has no cases file"
    orphans = {p.name for p in RECIPES_DIR.glob("*.cases.yaml")} - {
        cases_of(r).name for r in RECIPES
    }
    assert not orphans


@pytest.mark.parametrize("recipe", RECIPES, ids=NAMES)
def test_recipe_lints_clean(recipe: Path) -> None:
    report = lint_policy(recipe)
    issues = [format_issue(i) for i in (*report.errors, *report.warnings)]
    assert report.clean, "\n".join(issues)


def test_lint_policy_process_is_clean_for_every_recipe() -> None:
    result = canopy("lint-policy", *(str(r.relative_to(ROOT)) for r in RECIPES))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines == [f"{r.relative_to(ROOT)}: ok" for r in RECIPES], result.stdout


@pytest.mark.parametrize("recipe", RECIPES, ids=NAMES)
def test_cases_allow_gate_and_deny(recipe: Path) -> None:
    cases = load_cases(cases_of(recipe))
    assert len(cases) >= 6
    assert {c.expect for c in cases} == set(Decision)
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"


@pytest.mark.parametrize("recipe", RECIPES, ids=NAMES)
def test_policy_test_process_passes_every_case(recipe: Path) -> None:
    cases = cases_of(recipe)
    result = canopy("policy-test", str(cases), "--policy", str(recipe))
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == (len(load_cases(cases)), 0)
    assert not re.search(r"│\s*FAIL\s*│", result.stdout)


def test_a_flipped_expectation_fails_the_process(tmp_path: Path) -> None:
    recipe = RECIPES_DIR / "payments.yaml"
    text = cases_of(recipe).read_text(encoding="utf-8")
    assert text.count("expect: ALLOW") >= 1
    flipped = tmp_path / "payments.cases.yaml"
    flipped.write_text(text.replace("expect: ALLOW", "expect: DENY", 1), encoding="utf-8")
    result = canopy("policy-test", str(flipped), "--policy", str(recipe))
    assert result.returncode == 1, result.stdout + result.stderr
    total = len(load_cases(flipped))
    assert summary(result) == (total - 1, 1)
    assert re.search(r"│\s*FAIL\s*│", result.stdout)


def test_every_recipe_is_in_the_cookbook_exactly_once() -> None:
    text = COOKBOOK.read_text(encoding="utf-8")
    shown = [name for name, _ in cookbook_blocks()]
    assert text.count("<!-- recipe: ") == len(shown), "a marker without a yaml block"
    assert sorted(shown) == NAMES


@pytest.mark.parametrize("recipe", RECIPES, ids=NAMES)
def test_cookbook_shows_the_recipe_byte_for_byte(recipe: Path) -> None:
    blocks = dict(cookbook_blocks())
    assert blocks[recipe.stem] == recipe.read_bytes().decode("utf-8")
    command = (
        f"canopy policy-test examples/policies/{recipe.stem}.cases.yaml"
        f" --policy examples/policies/{recipe.stem}.yaml"
    )
    assert command in COOKBOOK.read_text(encoding="utf-8")


def test_the_policy_guide_lists_every_shell_risk() -> None:
    from canopy.decisions.analyzers.shell_model import ShellRisk

    guide = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    (row,) = [line for line in guide.splitlines() if line.startswith("| `risk` |")]
    assert set(re.findall(r"`([a-z_]+)`", row)) - {"risk"} == {r.value for r in ShellRisk}


def test_the_cookbook_is_linked() -> None:
    assert "(POLICY_COOKBOOK.md)" in (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    assert "`docs/POLICY_COOKBOOK.md`" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("command", "recorded"),
    [
        ("git push origin main", True),
        ("git -C /srv/repo push origin release", True),
        ("sudo -u ci docker push registry.corp.example/shop:2.14", True),
        ("npm publish --access public", True),
        ("pytest -q tests/", False),
    ],
)
def test_shadow_trial_records_what_it_would_have_asked(
    tmp_path: Path, command: str, recorded: bool
) -> None:
    """A cases file sees decisions only; the shadow findings are checked here."""
    result = authorize_action(
        {},
        "execute_shell",
        {"command": command},
        policy_file=RECIPES_DIR / "shadow-trial.yaml",
        audit_log_path=tmp_path / "audit.log",
    )
    policy = result["layers"]["policy"]
    shadowed = [f for f in policy["findings"] if f["rule_id"] == "trial.publishing (shadow)"]
    assert bool(shadowed) is recorded
    if recorded:
        assert shadowed[0]["reason"].startswith("shadow rule would REQUIRE_APPROVAL")
        assert str(policy["decision"]) == "ALLOW"
