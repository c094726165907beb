"""What an HDF5 file without a model config is: Keras weights (save_weights) or plain data.

Neither is a model to check, so each is a ``not-a-model`` note, never a failure: a repository
may keep ``save_weights`` files and HDF5 datasets beside its models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from graphcheck.findings import LoadError
from graphcheck.rule_names import RuleName

Kind = Literal["model", "weights", "data"]
HINT = ("to check it, give the architecture too: "
        "`graphcheck check arch.json --weights {name}`")


def h5_kind(h5: Any) -> Kind:
    """Classify an open HDF5 file by its root attributes and groups (no data is read)."""
    if "model_config" in h5.attrs:
        return "model"
    # Keras 2 save_weights writes layer_names; Keras 3 writes the groups layers/ and vars/.
    if "layer_names" in h5.attrs or ("layers" in h5 and "vars" in h5):
        return "weights"
    return "data"


def not_a_model(h5: Any, name: str) -> LoadError:
    """Return the note for an HDF5 file that holds weights only or data, saying which."""
    if h5_kind(h5) == "weights":
        return LoadError("this HDF5 file holds weights only (save_weights), no architecture: "
                         "nothing to check on its own; " + HINT.format(name=name), rule=RuleName.NOT_A_MODEL)
    return LoadError("this HDF5 file has no Keras model config: it holds data, not a model",
                     rule=RuleName.NOT_A_MODEL)


def file_kind(path: Path) -> Kind:
    """Classify an HDF5 file on disk in a child process; a file that cannot be read is a model.

    Folder walks use this to skip data files; one that crashes or hangs the HDF5 library is
    kept, so that checking it reports the problem.
    """
    from graphcheck.limits import current as current_limits
    from graphcheck.loaders.h5_weights import open_h5
    from graphcheck.loaders.isolation import isolated

    def classify() -> Kind:
        """Open the file and classify it."""
        with open_h5(str(path), path.name) as h5:
            return h5_kind(h5)

    try:
        return isolated(classify, current_limits().max_read_seconds)
    except Exception:  # unreadable: let the check say why
        return "model"
