"""canopy.decisions.analyzers.paths: traversal, symlink escapes and protected classes.

Real symlinks live under pytest's tmp directories. Hypothesis checks that
normalization is idempotent and clean, that ``is_within`` agrees with a naive
string reference, and that symlink resolution agrees with ``os.path.realpath`` on
a loop-free tree.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canopy.decisions.analyzers.paths import (
    PROTECTED_CLASSES,
    PathClass,
    check_path,
    classify_path,
    is_within,
    normalize_path,
    path_classes,
    resolve_path,
)
from canopy.errors import MalformedInputError

P = PathClass
HOME = "/home/u"
SC, CRED, SS, DEV, GOV, ORD = (
    P.SYSTEM_CRITICAL,
    P.CREDENTIAL,
    P.SHELL_STARTUP,
    P.DEVICE,
    P.GOVERNANCE,
    P.ORDINARY,
)


def pp(path: Path | str) -> PurePosixPath:
    return PurePosixPath(str(path))


# --- normalization ----------------------------------------------------------------

NORMALIZE = [
    # (path, cwd, expected)
    ("/tmp/../root/.bashrc", None, "/root/.bashrc"),
    ("/tmp//./x", None, "/tmp/x"),
    ("//etc//passwd", None, "/etc/passwd"),
    ("/../../etc", None, "/etc"),
    ("/..", None, "/"),
    ("/tmp/x/", None, "/tmp/x"),
    ("/a/b/../../../../c", None, "/c"),
    ("~", None, HOME),
    ("~/", None, HOME),
    ("~/.ssh/id_rsa", None, f"{HOME}/.ssh/id_rsa"),
    ("~/../../etc/passwd", None, "/etc/passwd"),
    ("$HOME/.aws/credentials", None, f"{HOME}/.aws/credentials"),
    ("${HOME}/.kube/config", None, f"{HOME}/.kube/config"),
    ("$HOME", None, HOME),
    ("$HOME.bak/x", None, f"{HOME}.bak/x"),  # the shell expands $HOME then ".bak"
    ("/x/$HOME/y", "/w", f"/x{HOME}/y"),
    ("$HOMEDIR/x", "/w", "/w/$HOMEDIR/x"),  # another variable: left literal
    ("$USER/x", "/w", "/w/$USER/x"),
    ("~root/.bashrc", None, "/root/.bashrc"),
    ("~no_such_user_canopy/x", "/w", "/w/~no_such_user_canopy/x"),
    ("x/~/y", "/w", "/w/x/~/y"),  # tilde only expands at the start
    ("notes.txt", "/work/repo", "/work/repo/notes.txt"),
    ("./a/./b/../c", "/work", "/work/a/c"),
    ("../../../../etc/shadow", "/work/repo", "/etc/shadow"),
    ("..", "/", "/"),
    ("sub", "/work/../srv", "/srv/sub"),
    ("sub", "~/proj", f"{HOME}/proj/sub"),
]


@pytest.mark.parametrize(("path", "cwd", "expected"), NORMALIZE)
def test_normalize_path(path: str, cwd: str | None, expected: str) -> None:
    assert normalize_path(path, cwd=cwd, home=HOME) == PurePosixPath(expected)


def test_relative_cwd_defaults_to_getcwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert normalize_path("a/b", home=HOME) == pp(os.getcwd()) / "a/b"
    assert normalize_path("a", cwd="rel", home=HOME) == pp(os.getcwd()) / "rel/a"


def test_home_defaults_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/zed")
    assert normalize_path("~/.ssh") == PurePosixPath("/home/zed/.ssh")
    assert check_path("~/.ssh/config").classes == {CRED}


def test_accepts_path_objects() -> None:
    assert normalize_path(PurePosixPath("/a/../b")) == PurePosixPath("/b")


@pytest.mark.parametrize("bad", ["", "/tmp/x\0.txt", "\0", b"/etc/passwd", None, 7])
def test_normalize_rejects(bad: object) -> None:
    with pytest.raises(MalformedInputError):
        normalize_path(bad, home=HOME)  # type: ignore[arg-type]


def test_check_path_rejects_nul() -> None:
    with pytest.raises(MalformedInputError):
        check_path("/tmp/ok\0/../../etc/passwd", safe_paths=["/tmp"])


# --- containment -----------------------------------------------------------------

WITHIN = [
    ("/tmp", "/tmp", True),
    ("/tmp/x", "/tmp", True),
    ("/tmp/x", "/tmp/", True),
    ("/tmp/x/y/z", "/tmp/x", True),
    ("/tmp2/x", "/tmp", False),
    ("/tmp2", "/tmp", False),
    ("/tm", "/tmp", False),
    ("/tmp", "/tmp/x", False),
    ("/", "/", True),
    ("/etc/passwd", "/", True),
    ("/tmp/../etc/passwd", "/tmp", False),
    ("/tmp//x", "/tmp", True),
    ("/tmp/./x", "//tmp/.", True),
    ("/var/tmp/x", "/tmp", False),
    (PurePosixPath("/tmp/x"), PurePosixPath("/tmp"), True),
]


@pytest.mark.parametrize(("path", "root", "expected"), WITHIN)
def test_is_within(path: str, root: str, expected: bool) -> None:
    assert is_within(path, root) is expected


@pytest.mark.parametrize(("path", "root"), [("tmp/x", "/tmp"), ("/tmp/x", "tmp"), ("", "/")])
def test_is_within_needs_absolute_paths(path: str, root: str) -> None:
    with pytest.raises(MalformedInputError):
        is_within(path, root)


# --- classification ------------------------------------------------------------------

CLASSES: list[tuple[str, set[PathClass]]] = [
    ("/", {SC}),
    ("/etc", {SC}),
    ("/etc/passwd", {SC}),
    ("/etc/hosts", {SC}),
    ("/usr/bin/python3", {SC}),
    ("/usr/local/bin/tool", {SC}),
    ("/bin/sh", {SC}),
    ("/boot/vmlinuz", {SC}),
    ("/lib64/ld-linux-x86-64.so.2", {SC}),
    ("/proc/self/environ", {SC, CRED}),  # another process's secrets
    ("/sys/kernel/x", {SC}),
    ("/var/lib/dpkg/status", {SC}),
    ("/root", {SC}),
    ("/root/notes.txt", {SC}),
    ("/opt", {SC}),
    ("/home", {SC}),
    ("/var", {SC}),
    ("/dev", {SC}),
    ("/dev/sda", {DEV, SC}),
    ("/dev/mem", {DEV, SC}),
    ("/dev/null", {ORD}),
    ("/dev/stdout", {ORD}),
    ("/etc/shadow", {CRED, SC}),
    ("/etc/gshadow", {CRED, SC}),
    ("/etc/sudoers", {CRED, SC}),
    ("/etc/sudoers.d/90-agent", {CRED, SC}),
    ("/etc/ssh/ssh_host_ed25519_key", {CRED, SC}),
    ("/var/run/docker.sock", {CRED}),
    ("/root/.ssh/authorized_keys", {CRED, SC}),
    ("/root/.bashrc", {SS, SC}),
    ("/etc/profile", {SS, SC}),
    ("/etc/profile.d/agent.sh", {SS, SC}),
    ("/etc/bash.bashrc", {SS, SC}),
    ("/etc/environment", {SS, SC}),
    ("/etc/ld.so.preload", {SS, SC}),
    ("/etc/crontab", {SS, SC}),
    ("/etc/cron.d/job", {SS, SC}),
    ("/etc/cron.daily/job", {SS, SC}),
    ("/var/spool/cron/crontabs/u", {SS, SC}),
    ("/etc/systemd/system/evil.service", {SS, SC}),
    ("/usr/lib/systemd/system/evil.service", {SS, SC}),
    (f"{HOME}/.ssh", {CRED}),
    (f"{HOME}/.ssh/id_rsa", {CRED}),
    (f"{HOME}/.ssh/id_rsa.pub", {ORD}),  # a public key is meant to be shared
    (f"{HOME}/.ssh/authorized_keys", {CRED}),
    (f"{HOME}/.ssh/rc", {CRED, SS}),
    (f"{HOME}/.aws/credentials", {CRED}),
    (f"{HOME}/.aws", {CRED}),
    (f"{HOME}/.gnupg/private-keys-v1.d/k.key", {CRED}),
    (f"{HOME}/.kube/config", {CRED}),
    (f"{HOME}/.docker/config.json", {CRED}),
    (f"{HOME}/.docker/daemon.json", {ORD}),
    (f"{HOME}/.netrc", {CRED}),
    (f"{HOME}/.git-credentials", {CRED}),
    (f"{HOME}/.config/gcloud/credentials.db", {CRED}),
    (f"{HOME}/.azure/accessTokens.json", {CRED}),
    ("/home/other/.ssh/id_ed25519", {CRED}),
    ("/Users/alice/.aws/config", {CRED}),
    ("/srv/app/id_ecdsa", {CRED}),
    ("/srv/app/id_rsa.pub", {ORD}),
    ("/srv/app/tls.pem", {CRED}),
    ("/srv/app/server.key", {CRED}),
    ("/srv/app/.env", {CRED}),
    ("/srv/app/.env.production", {CRED}),
    ("/srv/app/.env.example", {ORD}),
    ("/srv/app/known_hosts", {CRED}),
    ("/srv/app/.pgpass", {CRED}),
    (f"{HOME}/.bashrc", {SS}),
    (f"{HOME}/.bash_profile", {SS}),
    (f"{HOME}/.profile", {SS}),
    (f"{HOME}/.zshrc", {SS}),
    (f"{HOME}/.zprofile", {SS}),
    (f"{HOME}/.config/fish/config.fish", {SS}),
    (f"{HOME}/.config/systemd/user/x.service", {SS}),
    ("/home/other/.bashrc", {SS}),
    (f"{HOME}/proj/.git/hooks/pre-commit", {SS}),
    (f"{HOME}/proj/.git/hooks", {SS}),
    (f"{HOME}/proj/.git/config", {ORD}),
    (f"{HOME}/proj/hooks/pre-commit", {ORD}),
    (f"{HOME}/venv/lib/python3.11/site-packages/evil.pth", {SS}),
    (f"{HOME}/proj/sitecustomize.py", {SS}),
    (f"{HOME}/notes/x.pth", {ORD}),
    (f"{HOME}/proj/.bashrc", {ORD}),  # not in a home directory's root
    (f"{HOME}/.bashrc.bak", {ORD}),
    (f"{HOME}/proj/main.py", {ORD}),
    (HOME, {ORD}),
    ("/opt/app/bin/run", {ORD}),
    ("/tmp/x", {ORD}),
    ("/var/log/syslog", {ORD}),
    ("/var/tmp/x", {ORD}),
    ("/bin2/x", {ORD}),
    ("/etcetera", {ORD}),
    ("/usrx/lib", {ORD}),
]


@pytest.mark.parametrize(("path", "expected"), CLASSES)
def test_path_classes(path: str, expected: set[PathClass]) -> None:
    assert path_classes(path, home=HOME) == expected


@pytest.mark.parametrize(
    ("path", "primary"),
    [
        ("/etc/shadow", CRED),
        ("/dev/sda", DEV),
        ("/etc/profile", SS),
        ("/root/.bashrc", SS),
        ("/etc/passwd", SC),
        ("/tmp/x", ORD),
        (f"{HOME}/.canopy/keys/ledger.key", GOV),
    ],
)
def test_classify_path_reports_the_most_specific(path: str, primary: PathClass) -> None:
    assert classify_path(pp(path), home=HOME, governance=["~/.canopy"]) is primary


def test_classify_path_normalizes_its_input() -> None:
    assert classify_path(pp("/tmp/../etc/shadow"), home=HOME) is CRED
    assert classify_path("~/.ssh/id_rsa", home=HOME) is CRED


GOVERNANCE = ["~/.canopy/ledger.db", "/srv/canopy/policy.yaml", "~/.canopy/keys/"]


@pytest.mark.parametrize(
    ("path", "is_governance"),
    [
        (f"{HOME}/.canopy/ledger.db", True),
        (f"{HOME}/.canopy/ledger.db-wal", True),
        (f"{HOME}/.canopy/ledger.db-journal", True),
        (f"{HOME}/.canopy/ledger.db.bak", False),
        (f"{HOME}/.canopy/keys", True),
        (f"{HOME}/.canopy/keys/witness.key", True),
        ("/srv/canopy/policy.yaml", True),
        ("/srv/canopy/../canopy/./policy.yaml", True),
        ("/srv/canopy/policy.yaml.orig", False),
        ("/srv/canopy", False),
    ],
)
def test_governance_paths(path: str, is_governance: bool) -> None:
    classes = path_classes(path, home=HOME, governance=GOVERNANCE)
    assert (GOV in classes) is is_governance


# --- check_path -----------------------------------------------------------------------


def test_traversal_out_of_safe_path() -> None:
    verdict = check_path("/tmp/../root/.bashrc", safe_paths=["/tmp/"], home=HOME)
    assert verdict.path == PurePosixPath("/root/.bashrc")
    assert not verdict.inside_safe
    assert SS in verdict.classes and SC in verdict.classes
    assert "contains '..'" in verdict.notes


def test_messy_path_inside_safe_path() -> None:
    verdict = check_path("/tmp//./x", safe_paths=["/tmp"], home=HOME)
    assert verdict.inside_safe and verdict.classes == {ORD}
    assert not verdict.protected


def test_sibling_prefix_is_not_inside() -> None:
    assert not check_path("/tmp2/x", safe_paths=["/tmp"], home=HOME).inside_safe
    assert not check_path("/tmp", safe_paths=["/tmp/x"], home=HOME).inside_safe


def test_no_safe_paths_means_not_inside() -> None:
    assert not check_path("/tmp/x", home=HOME).inside_safe


def test_safe_root_does_not_open_protected_classes() -> None:
    verdict = check_path("/etc/passwd", safe_paths=["/"], home=HOME)
    assert verdict.inside_safe
    assert verdict.classes == {SC}
    assert verdict.protected == {SC}
    assert any("do not open system_critical" in n for n in verdict.notes)


@pytest.mark.parametrize(
    "path",
    ["~/.ssh/id_rsa", "$HOME/.aws/credentials", "${HOME}/.gnupg/pubring.kbx", "~/.bashrc"],
)
def test_home_paths_inside_a_safe_home_stay_protected(path: str) -> None:
    verdict = check_path(path, safe_paths=["~"], home=HOME)
    assert verdict.inside_safe
    assert verdict.protected
    assert "home directory expanded" in verdict.notes


def test_relative_path_with_cwd() -> None:
    verdict = check_path("../.ssh/id_rsa", cwd=f"{HOME}/proj", safe_paths=["."], home=HOME)
    assert verdict.path == PurePosixPath(f"{HOME}/.ssh/id_rsa")
    assert verdict.classes == {CRED}
    assert not verdict.inside_safe  # "." is the cwd, the key is outside it
    assert f"relative path joined to {HOME}/proj" in verdict.notes


def test_protected_classes_constant() -> None:
    assert frozenset({SC, CRED, SS, GOV, DEV}) == PROTECTED_CLASSES
    assert ORD not in PROTECTED_CLASSES


# --- symlinks (real ones) -------------------------------------------------------------


def test_symlink_escape_to_etc(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/etc")
    verdict = check_path(str(tmp_path / "link/passwd"), safe_paths=[str(tmp_path)], home=HOME)
    assert verdict.path == PurePosixPath("/etc/passwd")
    assert SC in verdict.classes
    assert not verdict.inside_safe
    assert f"symlink {tmp_path}/link -> /etc" in verdict.notes


def test_symlink_chain(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "b").symlink_to(tmp_path / "real")
    (tmp_path / "a").symlink_to("b")  # relative link to a link
    resolved = resolve_path(str(tmp_path / "a/file"))
    assert resolved == pp(tmp_path.resolve() / "real/file")
    verdict = check_path(str(tmp_path / "a/file"), safe_paths=[str(tmp_path / "real")])
    assert verdict.inside_safe
    assert len([n for n in verdict.notes if n.startswith("symlink")]) == 2


def test_dotdot_after_symlink_follows_the_link(tmp_path: Path) -> None:
    """The kernel applies '..' to the link's target, not to the link's name."""
    (tmp_path / "deep/er").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "deep/er")
    path = str(tmp_path / "link/../x")
    assert normalize_path(path) == pp(tmp_path / "x")
    assert resolve_path(path) == pp(tmp_path.resolve() / "deep/x")
    assert resolve_path(path) == pp(os.path.realpath(path))


def test_dotdot_through_symlink_escapes_safe_path(tmp_path: Path) -> None:
    safe = tmp_path / "safe"
    safe.mkdir()
    (safe / "link").symlink_to("/etc/ssh")
    verdict = check_path(str(safe / "link/../shadow"), safe_paths=[str(safe)], home=HOME)
    assert verdict.path == PurePosixPath("/etc/shadow")
    assert not verdict.inside_safe
    assert CRED in verdict.classes


def test_non_existent_tail_after_link(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/etc")
    verdict = check_path(str(tmp_path / "link/cron.d/new/job"), home=HOME)
    assert verdict.path == PurePosixPath("/etc/cron.d/new/job")
    assert {SS, SC} <= verdict.classes


def test_dangling_symlink_is_followed(tmp_path: Path) -> None:
    (tmp_path / "out").symlink_to("/etc/cron.d/canopy-test-does-not-exist")
    verdict = check_path(str(tmp_path / "out"), safe_paths=[str(tmp_path)], home=HOME)
    assert verdict.path == PurePosixPath("/etc/cron.d/canopy-test-does-not-exist")
    assert SS in verdict.classes and not verdict.inside_safe


def test_symlinked_startup_file_keeps_its_class(tmp_path: Path) -> None:
    """Writing ~/.bashrc writes its target, and that target is still a start-up file."""
    home = tmp_path / "home"
    (home / "dotfiles").mkdir(parents=True)
    (home / "dotfiles/bashrc").write_text("")
    (home / ".bashrc").symlink_to("dotfiles/bashrc")
    (tmp_path / "innocent").symlink_to(home / ".bashrc")
    for path in ("~/.bashrc", str(tmp_path / "innocent")):
        verdict = check_path(path, home=str(home), safe_paths=[str(home / "dotfiles")])
        assert verdict.path == pp(home.resolve() / "dotfiles/bashrc")
        assert verdict.inside_safe
        assert SS in verdict.classes, path


def test_symlink_to_governance_file(tmp_path: Path) -> None:
    ledger = tmp_path / "canopy/ledger.db"
    ledger.parent.mkdir()
    ledger.write_text("")
    (tmp_path / "work").mkdir()
    (tmp_path / "work/l").symlink_to(ledger)
    verdict = check_path(
        "l", cwd=str(tmp_path / "work"), safe_paths=[str(tmp_path)], governance=[str(ledger)]
    )
    assert GOV in verdict.classes and verdict.inside_safe


def test_symlinked_safe_path_is_compared_resolved(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert check_path(str(tmp_path / "real/x"), safe_paths=[str(tmp_path / "alias")]).inside_safe
    assert check_path(str(tmp_path / "alias/x"), safe_paths=[str(tmp_path / "real")]).inside_safe


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    verdict = check_path(str(tmp_path / "a/x"), home=HOME)
    assert any("loop" in n for n in verdict.notes)
    assert verdict.path.is_absolute()


def test_benign_devices_are_not_resolved() -> None:
    verdict = check_path("/dev/stdout", home=HOME)
    assert verdict.path == PurePosixPath("/dev/stdout")
    assert verdict.classes == {ORD}


# --- hypothesis --------------------------------------------------------------------------

COMPONENTS = ["a", "b", "tmp", "tmp2", ".", "..", "", "~", "$HOME", "${HOME}", "x y", ".ssh"]
raw_paths = st.builds(
    lambda lead, parts: lead + "/".join(parts),
    st.sampled_from(["", "/", "//", "~/", "~", "$HOME/", "./", "../"]),
    st.lists(st.sampled_from(COMPONENTS), max_size=8),
).filter(bool)


@settings(max_examples=500)
@given(raw_paths, st.sampled_from(["/", "/w", "/w/x/y", "/tmp/../w"]))
def test_normalize_is_idempotent_clean_and_absolute(path: str, cwd: str) -> None:
    once = normalize_path(path, cwd=cwd, home=HOME)
    assert once.is_absolute()
    assert str(once).startswith("/") and not str(once).startswith("//")
    assert not {".", "..", ""} & set(once.parts[1:])
    assert normalize_path(str(once), cwd="/elsewhere", home="/nowhere") == once


def naive_within(path: str, root: str) -> bool:
    """String reference on normalized paths: equal, or a prefix ending at a '/'."""
    return path == root or path.startswith(root.rstrip("/") + "/")


@settings(max_examples=500)
@given(raw_paths, raw_paths)
def test_is_within_agrees_with_naive_reference(path: str, root: str) -> None:
    p = normalize_path(path, cwd="/w", home=HOME)
    r = normalize_path(root, cwd="/w", home=HOME)
    assert is_within(p, r) is naive_within(str(p), str(r))
    assert is_within(p, r) is (p.parts[: len(r.parts)] == r.parts)
    assert is_within(p, p) and is_within(p, "/")


@pytest.fixture(scope="module")
def link_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """a/ b/ real dirs; links: la -> a, lb -> ../tree/b, up -> .., abs -> <tree>/a/c."""
    root = tmp_path_factory.mktemp("tree").resolve()
    (root / "a/c").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "la").symlink_to("a")
    (root / "a/lb").symlink_to(f"../../{root.name}/b")
    (root / "b/up").symlink_to("..")
    (root / "b/abs").symlink_to(root / "a/c")
    (root / "a/c/dangling").symlink_to("nope/deeper")
    return root


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "b", "c", "la", "lb", "up", "abs", "dangling", "..", ".", "new"]),
        max_size=7,
    )
)
def test_resolution_agrees_with_realpath(link_tree: Path, parts: list[str]) -> None:
    path = "/".join([str(link_tree), *parts])
    assert resolve_path(path) == pp(os.path.realpath(path))
