"""How a file's fields feed a layer's columns: the shipped mappings of Vietnamese field
names, a user's YAML, the words files use for the schema's values.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from layers.imports.targets import ImportStopped, Target

MAPPINGS = Path(__file__).parent.parent / "mappings"
SHAPEFILE_NAME_LIMIT = 10


@dataclass(frozen=True)
class Mapping:
    """How a file's fields feed a layer: candidate source fields per column, constants for
    columns the file lacks, and the file's words for the schema's values
    (``Phường`` -> ``ward``), keyed by their casefolded NFC form."""

    fields: dict[str, list[str]]
    constants: dict[str, Any]
    values: dict[str, dict[str, Any]]


def load_mapping(
    target: Target, path: Path | None = None, exported: dict[str, str] | None = None
) -> Mapping:
    """The shipped mapping of ``target``, with the names an export wrote (``exported``)
    first among the candidates and the column's own name last; ``path`` overrides."""
    shipped = yaml.safe_load((MAPPINGS / f"{target.id}.yaml").read_text()) or {}
    names = {k: _as_list(v) for k, v in (shipped.get("fields") or {}).items()}
    fields = {
        column: [
            *([exported[column]] if exported and column in exported else []),
            *names.get(column, []),
            column,
        ]
        for column in target.columns
    }
    constants = dict(shipped.get("constants") or {})
    values = {k: _value_words(v) for k, v in (shipped.get("values") or {}).items()}
    if path is not None:
        user = _user_mapping(target, Path(path))
        fields.update({k: _as_list(v) for k, v in user["fields"].items()})
        constants.update(user["constants"])
        for column, words in user["values"].items():
            values[column] = values.get(column, {}) | _value_words(words)
    return Mapping(fields, constants, values)


SECTIONS = ("fields", "constants", "values")


def _user_mapping(target: Target, path: Path) -> dict[str, dict]:
    try:
        user = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ImportStopped(f"mapping {path}: cannot be read ({exc})") from None
    sections = {name: user.get(name) or {} for name in SECTIONS} if isinstance(user, dict) else {}
    if not sections or not all(isinstance(part, dict) for part in sections.values()):
        raise ImportStopped(
            f"mapping {path}: expected 'fields:', 'constants:' and 'values:' sections, each "
            "of 'column: value' lines"
        )
    if not all(isinstance(words, dict) for words in sections["values"].values()):
        raise ImportStopped(f"mapping {path}: 'values:' maps a column to 'file word: value' lines")
    unknown = set().union(*sections.values()) - set(target.columns)
    if unknown:
        raise ImportStopped(
            f"mapping {path}: {', '.join(sorted(unknown))} not columns of {target.id}; "
            f"columns: {', '.join(target.columns)}"
        )
    return sections


def _value_words(words: dict) -> dict[str, Any]:
    return {normalised_word(str(k)): v for k, v in words.items()}


def normalised_word(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def exported_names(path: Path) -> dict[str, str] | None:
    """The column -> field pairs an export wrote beside a Shapefile (layers.exports)."""
    sidecar = path.with_name(path.stem + ".fields.csv")
    if path.suffix.lower() != ".shp" or not sidecar.exists():
        return None
    with sidecar.open(encoding="utf-8") as f:
        return {row["column"]: row["shapefile_field"] for row in csv.DictReader(f)}


def resolve_mapping(target: Target, source_fields: Iterable[str], fields: dict) -> dict:
    """Column -> the source field that feeds it: the first candidate present, in any case,
    or cut to the 10 characters a Shapefile keeps (SoHieuToBanDo -> SoHieuToBa)."""
    by_lower = {f.lower(): f for f in source_fields}
    resolved = {}
    for column, candidates in fields.items():
        for candidate in candidates:
            name = candidate.lower()
            found = by_lower.get(name) or by_lower.get(name[:SHAPEFILE_NAME_LIMIT])
            if found:
                resolved[column] = found
                break
    return resolved


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
