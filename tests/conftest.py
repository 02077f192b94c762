import sys
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
