"""An independent witness: cosigns a ledger's checkpoints only if they extend what it saw.

Formats: c2sp.org/tlog-cosignature (v1, timestamped Ed25519) and the
add-checkpoint request of c2sp.org/tlog-witness.
"""

from canopy.witness.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    add_cosignature,
    cosign,
    verify_cosignatures,
)
from canopy.witness.service import (
    ConflictError,
    UnknownLogError,
    Witness,
    request_for,
)
from canopy.witness.state import NotAWitnessStateError, Witnessed

__all__ = [
    "ConflictError",
    "CosignatureSigner",
    "CosignatureVerifier",
    "NotAWitnessStateError",
    "UnknownLogError",
    "Witness",
    "Witnessed",
    "add_cosignature",
    "cosign",
    "request_for",
    "verify_cosignatures",
]
