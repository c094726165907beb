"""docs/api.md: the examples that build a Keras model run as written (Keras imported)."""

from __future__ import annotations

import pytest

from tests.integration.test_api_docs import blocks, run_block

pytestmark = pytest.mark.oracle


@pytest.mark.parametrize("code", blocks(True))
def test_keras_example_runs(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's own assertions hold with the real Keras."""
    run_block(code, monkeypatch)
