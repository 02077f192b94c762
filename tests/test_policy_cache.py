"""load_policy: compile once per file version, recompile when the file changes."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from test_policy_support import view, write_policy

from canopy.decisions.policy import DEFAULT_POLICY, PolicyError, load_policy

ONE = 'version: "1"\nrules:\n  - {id: a, action_type: send_message, deny: true}\n'
TWO = 'version: "2"\nrules:\n  - {id: b, action_type: send_message, require_approval: true}\n'


def bump_mtime(path: Path, seconds: int = 10) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


def test_same_object_until_the_file_changes(tmp_path: Path) -> None:
    path = write_policy(tmp_path, ONE)
    first = load_policy(path)
    assert load_policy(path) is first
    assert load_policy(str(path)) is first  # str and Path name the same file

    path.write_text(TWO, encoding="utf-8")
    bump_mtime(path)
    second = load_policy(path)
    assert second is not first
    assert second.snapshot.version == "2"
    assert [r.id for r in second.rules] == ["b"]
    assert load_policy(path) is second


def test_touching_the_file_recompiles(tmp_path: Path) -> None:
    path = write_policy(tmp_path, ONE)
    first = load_policy(path)
    bump_mtime(path)
    again = load_policy(path)
    assert again is not first and again.snapshot == first.snapshot


def test_same_mtime_but_new_size_recompiles(tmp_path: Path) -> None:
    path = write_policy(tmp_path, ONE)
    first = load_policy(path)
    mtime = path.stat().st_mtime_ns
    path.write_text(ONE + "# a comment\n", encoding="utf-8")
    os.utime(path, ns=(mtime, mtime))
    assert load_policy(path) is not first


def test_symlinks_share_the_compiled_policy(tmp_path: Path) -> None:
    path = write_policy(tmp_path, ONE)
    link = tmp_path / "link.yaml"
    link.symlink_to(path)
    assert load_policy(link) is load_policy(path)
    assert load_policy(link).snapshot.file == str(path.resolve())


def test_a_broken_edit_raises_and_the_fix_recovers(tmp_path: Path) -> None:
    path = write_policy(tmp_path, ONE)
    good = load_policy(path)
    path.write_text("rules: [\n", encoding="utf-8")
    bump_mtime(path)
    with pytest.raises(PolicyError):
        load_policy(path)
    path.write_text(TWO, encoding="utf-8")
    bump_mtime(path, 20)
    fixed = load_policy(path)
    assert fixed is not good and fixed.snapshot.version == "2"


def test_snapshot_hash_and_source(tmp_path: Path) -> None:
    path = write_policy(tmp_path, ONE)
    snap = load_policy(path).snapshot
    assert snap.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (snap.source, snap.version, snap.file) == ("file", "1", str(path.resolve()))
    assert load_policy(path, source="env").snapshot.source == "env"
    assert snap.to_json()["content_hash"] == snap.content_hash


def test_none_is_the_bundled_default() -> None:
    policy = load_policy(None)
    assert policy is load_policy(None)
    assert policy.snapshot.source == "default"
    assert policy.snapshot.file == str(DEFAULT_POLICY.resolve())
    assert policy.snapshot.content_hash == hashlib.sha256(DEFAULT_POLICY.read_bytes()).hexdigest()


def test_threads_get_one_compilation(tmp_path: Path) -> None:
    path = write_policy(tmp_path, ONE)
    seen: list[object] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(50):
            seen.append(load_policy(path))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 400 and len({id(p) for p in seen}) == 1
    assert seen[0].evaluate(view("send_message")).findings[0].rule_id == "a"  # type: ignore[attr-defined]


def test_retargeting_a_symlink_loads_the_new_file(tmp_path: Path) -> None:
    one, two = write_policy(tmp_path, ONE, "one.yaml"), write_policy(tmp_path, TWO, "two.yaml")
    link = tmp_path / "active.yaml"
    link.symlink_to(one)
    assert load_policy(link).snapshot.version == "1"
    link.unlink()
    link.symlink_to(two)
    assert load_policy(link).snapshot.version == "2"
    assert load_policy(link) is load_policy(two)


def test_atomic_replace_is_seen(tmp_path: Path) -> None:
    path = write_policy(tmp_path, ONE)
    first = load_policy(path)
    fresh = write_policy(tmp_path, ONE, "next.yaml")
    os.replace(fresh, path)  # same bytes, new inode
    assert load_policy(path) is not first


def test_a_same_size_rewrite_with_its_mtime_put_back_recompiles(tmp_path: Path) -> None:
    """``touch -r``, ``cp -p``, ``tar x`` restore the mtime; the ctime still moves."""
    path = write_policy(tmp_path, ONE)
    before = path.stat()
    first = load_policy(path)
    stricter = ONE.replace('version: "1"', 'version: "9"')
    assert len(stricter) == len(ONE)
    path.write_text(stricter, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert load_policy(path).snapshot.version == "9"
    assert load_policy(path) is not first


def test_a_fifo_or_device_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "policy.yaml"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(PolicyError, match="not a regular file"):
            load_policy(path)


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    from canopy.decisions.policy.cache import MAX_POLICY_BYTES

    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(MAX_POLICY_BYTES + 1)
    with pytest.raises(PolicyError, match="larger than"):
        load_policy(path)


def test_the_snapshot_keeps_the_text_it_hashed(tmp_path: Path) -> None:
    path = write_policy(tmp_path, ONE)
    snapshot = load_policy(path).snapshot
    assert snapshot.text == ONE
    assert hashlib.sha256(ONE.encode()).hexdigest() == snapshot.content_hash
