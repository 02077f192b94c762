"""Property tests at the authorize_action level: re-spellings never come back ALLOW."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canopy import authorize_action

TARGETS = ["/", "/*", "~", "$HOME", "/etc", "/usr", "/boot", "/var"]
FLAGS = [["-rf"], ["-fr"], ["-r", "-f"], ["-f", "-r"], ["--recursive", "--force"], ["-Rf"]]
WRAPPERS = ["", "sudo ", "env ", "timeout 5 ", "nice -n 3 ", "nohup ", "command "]
QUOTERS = [
    lambda w: w,
    lambda w: f"'{w}'",
    lambda w: f'"{w}"',
    lambda w: "\\" + w,
    lambda w: w[0] + "''" + w[1:],
    lambda w: "/bin/" + w,
]
ACTION_SHAPES = [
    ("execute_shell", "command"),
    ("shell", "cmd"),
    ("bash", "script"),
    ("run_command", "command"),
    ("unknown_tool", "cmd"),
]


@st.composite
def destructive(draw: st.DrawFn) -> str:
    program = draw(st.sampled_from(QUOTERS))("rm")
    flags = draw(st.sampled_from(FLAGS))
    target = draw(st.sampled_from(TARGETS))
    after = draw(st.booleans())
    words = [program, target, *flags] if after else [program, *flags, target]
    command = draw(st.sampled_from(WRAPPERS)) + " ".join(words)
    nest = draw(
        st.sampled_from(
            [
                "{}",
                "bash -c '{}'",
                'sh -c "{}"',
                "({})",
                "{{ {}; }}",
                "echo ok && {}",
                "true; {}",
                "eval '{}'",
            ]
        )
    )
    return nest.format(command) if "'" not in command or "'" not in nest else command


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=destructive(), shape=st.sampled_from(ACTION_SHAPES))
def test_destructive_respellings_are_never_allowed(
    tmp_path: Path, command: str, shape: tuple[str, str]
) -> None:
    action_type, key = shape
    result = authorize_action(
        {"public_key": "pk-prop", "autonomous_mode": True},
        action_type,
        {key: command},
        audit_log_path=tmp_path / "prop.log",
    )
    assert result["decision"] != "ALLOW", (command, result["reason"])


BENIGN = st.sampled_from(
    [
        "ls -la",
        "git status",
        "pytest -q",
        "cat README.md",
        "make test",
        "npm test",
        "grep -rn 'rm -rf /' docs/",
        "echo 'rm -rf / is dangerous'",
        "wc -l src/*.py",
        "python -m pip list",
        "docker ps",
        "git log --oneline -5",
        "head -n 20 app.log",
    ]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=BENIGN)
def test_everyday_commands_stay_allowed(tmp_path: Path, command: str) -> None:
    result = authorize_action(
        {"public_key": "pk-prop"},
        "execute_shell",
        {"command": command},
        audit_log_path=tmp_path / "prop.log",
    )
    assert result["decision"] == "ALLOW", (command, result["reason"])
