import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

#: ../shared beside the repository: present in CI, maybe not in a user's clone.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not available: {path}")
    return path


@pytest.fixture(scope="module")
def decision_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One ledger for a module of decision tables (the decision is under test, not the
    recording), in a directory of its own, with no Canopy settings from the environment."""
    with pytest.MonkeyPatch.context() as patch:
        directory = tmp_path_factory.mktemp("decisions")
        patch.chdir(directory)
        for name in ("CANOPY_AUDIT_LOG_PATH", "CANOPY_POLICY_FILE", "CANOPY_MODE"):
            patch.delenv(name, raising=False)
        yield directory / "audit.log"
