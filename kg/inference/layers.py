"""Layer codes in depth order (shared by every part of inference)."""

from __future__ import annotations

from ingest.records import LAYERS

LAYER_ORDER = {code: i for i, code in enumerate(LAYERS)}

__all__ = ["LAYERS", "LAYER_ORDER"]
