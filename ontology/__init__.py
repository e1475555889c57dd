"""The curriculum vocabulary: Turtle files shipped with the package and typed constants."""

from importlib.resources import files
from pathlib import Path


def vocabulary_path() -> Path:
    return Path(str(files("ontology") / "ckg.ttl"))


def shapes_path() -> Path:
    return Path(str(files("ontology") / "shapes.ttl"))
