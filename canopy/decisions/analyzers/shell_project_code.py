"""Programs that run code the project holds: test runners, package managers, task runners.

Why: ``echo 'import shutil; shutil.rmtree("/")' > conftest.py; pytest``, a ``package.json``
whose ``test`` script is ``rm -rf /`` and then ``npm test``, a ``Rakefile`` and then
``rake``: the dangerous code sits in a file this text wrote, and the program that runs it
names no file. When such a program runs, every file this text wrote that it may load is
analysed as run: the code files in its language (``Runner.project_code``) and the
scripts of a ``package.json``. Which of them a given run really loads is not decidable
from the text, so all of them count (a file nothing runs is rarely written just before).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from types import MappingProxyType

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_rules import Call, remote_labels
from canopy.decisions.analyzers.shell_tool_effects import run_shell
from canopy.decisions.analyzers.shell_words import Word
from canopy.decisions.model import Severity

__all__ = ["PROJECT_RUNNERS", "rule_project_code", "rule_run_parts"]


def _runners(language: str, names: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), language)


#: Program family -> the language of the project code it loads.
PROJECT_RUNNERS: Mapping[str, str] = MappingProxyType(
    _runners("python", "pytest py.test tox nox hatch pdm poetry pip pip3 pipx uv unittest")
    | _runners("python", "coverage behave build sphinx-build mkdocs")
    | _runners("node", "npm npx yarn pnpm jest mocha vitest ava tap ts-node tsx grunt gulp")
    | _runners("ruby", "rake bundle bundler rspec rails gem cucumber")
    | _runners("perl", "prove cpanm cpan")
    | _runners("php", "composer phpunit pest")
    | _runners("lua", "busted luarocks")
)
#: Package managers that run the ``scripts`` of the ``package.json`` where they run.
_MANIFEST_SCRIPTS = frozenset({"npm", "yarn", "pnpm"})


def rule_project_code(call: Call) -> None:
    call.runner.project_code(PROJECT_RUNNERS[call.name], call.scope, call.ctx, call.text)
    if call.name in _MANIFEST_SCRIPTS:
        _package_scripts(call)


def _package_scripts(call: Call) -> None:
    """Every script of a ``package.json`` this text wrote (``npm test``, ``npm install``
    runs its lifecycle scripts, ``npm run x`` runs x and its pre and post scripts)."""
    prefix = call.parsed.value("prefix", "C", "cwd", "dir") or ""
    path = call.ref(Word.literal(posixpath.join(prefix, "package.json"))).path
    content = call.scope.files.get(path)
    if content is None:
        return
    if remote_labels(content):
        call.report(
            ShellRisk.REMOTE_CODE, Severity.HIGH, f"{call.program} runs a downloaded package.json"
        )
    if content.text is None:
        return
    try:
        manifest = json.loads(content.text)
    except ValueError:
        return  # the package manager refuses it too
    scripts = manifest.get("scripts") if isinstance(manifest, dict) else None
    if not isinstance(scripts, dict):
        return
    for name, command in scripts.items():
        if isinstance(command, str):
            run_shell(call, command, f"{call.program} script {name}")


def rule_run_parts(call: Call) -> None:
    """``run-parts DIR`` runs every executable in DIR: each file this text wrote there
    runs as the file it is."""
    if call.parsed.has("test", "list", "report-only"):
        return
    operands = call.parsed.operands
    if not operands:
        return
    directory = call.ref(operands[-1]).path
    for path in call.out.made(call.scope):
        if posixpath.dirname(path) == directory:
            call.runner.argv(
                [Word.literal(call.scope.spelled(path))],
                call.scope,
                call.ctx.wrapped(f"run-parts {directory}", nested=True),
            )
