"""PATH lookup against written files, and git-config parsing: the pure helpers."""

from __future__ import annotations

import pytest

from canopy.decisions.analyzers.shell_git import git_config_settings
from canopy.decisions.analyzers.shell_lookup import path_candidates
from canopy.decisions.analyzers.shell_paths import normalize


def _candidates(program: str, path: str | None, written: list[str], cwd: str = "") -> list[str]:
    return path_candidates(program, path, written, lambda p: normalize(p, cwd, "~"))


@pytest.mark.parametrize(
    ("program", "path", "written", "cwd", "expected"),
    [
        ("ls", None, ["ls"], "", []),  # the inherited PATH has no "."
        ("ls", None, ["~/bin/ls"], "", ["~/bin/ls"]),
        (
            "ls",
            None,
            ["/usr/local/bin/ls", "~/.local/bin/ls"],
            "",
            ["~/.local/bin/ls", "/usr/local/bin/ls"],
        ),
        ("ls", ".:$PATH", ["ls"], "", ["ls"]),
        ("ls", ":/usr/bin", ["ls"], "", ["ls"]),  # an empty entry is the working directory
        ("ls", "$PWD:$PATH", ["ls", "d/ls"], "", ["ls", "d/ls"]),  # could be any directory
        ("ls", "/opt/x/bin", ["ls"], "", []),
        ("ls", "bin:/usr/bin", ["sub/bin/ls"], "sub", ["sub/bin/ls"]),
        ("ls", "/tmp", ["/tmp/ls", "/tmp/lsx"], "", ["/tmp/ls"]),
        ("echo", ".", ["echo"], "", []),  # a builtin: no lookup
        ("./ls", ".", ["ls"], "", []),  # a path: no lookup
        ("git", "${PATH}", ["/usr/bin/git"], "", ["/usr/bin/git"]),
    ],
)
def test_path_candidates(
    program: str, path: str | None, written: list[str], cwd: str, expected: list[str]
) -> None:
    assert _candidates(program, path, written, cwd) == expected


def test_git_config_settings_reads_sections_quotes_escapes_and_comments() -> None:
    text = (
        "# a comment\n"
        "[alias]\n"
        "\tx = !rm -rf / ; trailing comment\n"
        '[Core]\n  Pager = "less -R # not a comment"\n'
        '[filter "lfs"]\n  clean = git-lfs clean -- %f\n'
        '[remote "Origin"] url = https://example.com/r.git\n'
        "  smudge = a \\\n b\n"
        "  bare\n"
        '  editor = "vim \\"q\\""\n'
    )
    assert git_config_settings(text) == [
        ("alias.x", "!rm -rf /"),
        ("core.pager", "less -R # not a comment"),
        ("filter.lfs.clean", "git-lfs clean -- %f"),
        ("remote.Origin.url", "https://example.com/r.git"),
        ("remote.Origin.smudge", "a  b"),
        ("remote.Origin.bare", ""),
        ("remote.Origin.editor", 'vim "q"'),
    ]


def test_git_config_settings_ignores_keys_outside_a_section() -> None:
    assert git_config_settings("pager = rm -rf /\n[ok]\n") == []
