"""What an import found and did: the rule codes, the findings (in bounded memory,
however many), and the report with its JSON and GeoJSON files.
"""

from __future__ import annotations

import pickle
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from gis.crs import WGS84, transform_geometry
from layers.base import STORAGE_SRID

#: rule code -> (severity, what it means)
RULES: dict[str, tuple[str, str]] = {
    "FIELD_UNMAPPED": ("error", "a required column has no source field and no constant"),
    "FIELD_MISSING": ("error", "a required value is empty"),
    "FIELD_TYPE": ("error", "a value does not convert to the column's type"),
    "GEOM_MISSING": ("error", "the feature has no geometry"),
    "GEOM_TYPE": ("error", "the geometry is not a polygon"),
    "GEOM_SKIPPED": ("warning", "a drawing entity that is not a closed shape was left out"),
    "GEOM_INVALID": ("error", "the geometry is invalid (use --fix to repair it)"),
    "GEOM_FIXED": ("warning", "an invalid geometry was repaired with make_valid"),
    "KEY_DUPLICATE": ("error", "the same identity appears more than once in the file"),
    "LANDUSE_UNKNOWN": ("error", "the land-use code is not in the code list"),
    "UNIT_UNKNOWN": ("error", "the administrative unit code is not a known unit"),
    "OUTSIDE_AREA": ("error", "the feature lies outside the service area"),
    "OUTSIDE_UNITS": ("error", "the feature lies outside the units of the importing account"),
    "REF_UNKNOWN": ("error", "a code names no row of the layer it refers to"),
    "OUTSIDE_PROJECT": ("error", "a zone reaches outside its planning project's boundary"),
    "OVERLAP": ("error", "the feature overlaps another beyond the tolerance"),
    "GAP": ("warning", "land enclosed by the features that none of them covers"),
    "SLIVER": ("warning", "a feature so thin it is likely a digitising artefact"),
    "AREA_MISMATCH": ("warning", "legal area and geometry area differ beyond the tolerance"),
    "CONSTRAINT": ("error", "a rule of the database refused a row"),
}


@dataclass
class Finding:
    rule: str
    fid: int | None
    message: str
    key: dict[str, Any] | None = None
    #: where: a geometry, or its WKB as the database gave it (turned into a geometry only
    #: when asked: most findings of a big file are only counted and written out)
    where: BaseGeometry | bytes | None = None

    @property
    def location(self) -> BaseGeometry | None:
        if isinstance(self.where, bytes):
            self.where = shapely.from_wkb(self.where)
        return self.where

    @property
    def severity(self) -> str:
        return RULES[self.rule][0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "feature": self.fid,
            "key": self.key,
            "message": self.message,
        }


class Findings:
    """The findings of an import in the order found, counted by rule. The first
    :attr:`kept` stay in memory; the rest are pickled to a temporary file, so a file with
    a warning on every other feature is reported whole in bounded memory."""

    kept = 10_000

    def __init__(self) -> None:
        self._kept: list[Finding] = []
        self._spill: Any = None  # a NamedTemporaryFile once needed
        self.by_rule: Counter[str] = Counter()

    def append(self, finding: Finding) -> None:
        self.by_rule[finding.rule] += 1
        if len(self._kept) < self.kept:
            self._kept.append(finding)
            return
        if self._spill is None:
            self._spill = tempfile.NamedTemporaryFile(prefix="landplan-findings-")
        where = finding.where
        if where is not None and not isinstance(where, bytes):
            where = shapely.to_wkb(where)
        state = (finding.rule, finding.fid, finding.message, finding.key, where)
        pickle.dump(state, self._spill, protocol=pickle.HIGHEST_PROTOCOL)

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.append(finding)

    def __len__(self) -> int:
        return self.by_rule.total()

    def __iter__(self) -> Iterator[Finding]:
        yield from self._kept
        if self._spill is None:
            return
        self._spill.flush()
        with open(self._spill.name, "rb") as spilled:  # its own offset: appends go on
            while True:
                try:
                    yield Finding(*pickle.load(spilled))
                except EOFError:
                    return

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return list(islice(self, index.start, index.stop, index.step))
        return next(islice(self, index, None))

    @property
    def errors(self) -> int:
        return sum(n for rule, n in self.by_rule.items() if RULES[rule][0] == "error")


@dataclass
class Report:
    source: dict[str, Any]
    layer: str
    crs: str
    encoding: str | None
    mapping: dict[str, str]
    dry_run: bool
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    written: bool = False
    findings: Findings = field(default_factory=Findings)
    #: wall seconds of each phase: read (and convert, copy), check, write (and commit)
    seconds: dict[str, float] = field(default_factory=dict)

    def lap(self, phase: str, since: float) -> float:
        """Record ``phase`` as ending now; now, for the next phase."""
        now = time.perf_counter()
        self.seconds[phase] = round(now - since, 3)
        return now

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"] if self.refused else []

    @property
    def refused(self) -> bool:
        return self.findings.errors > 0

    def summary(self) -> dict[str, Any]:
        """Everything but the findings themselves: their counts, by rule too."""
        errors = self.findings.errors
        return {
            "source": self.source,
            "layer": self.layer,
            "crs": self.crs,
            "encoding": self.encoding,
            "mapping": self.mapping,
            "dry_run": self.dry_run,
            "written": self.written,
            "counts": {
                "read": self.read,
                "inserted": self.inserted,
                "updated": self.updated,
                "unchanged": self.unchanged,
                "errors": errors,
                "warnings": len(self.findings) - errors,
                "by_rule": dict(sorted(self.findings.by_rule.items())),
            },
            "seconds": self.seconds,
        }

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        """The summary and the findings, the first ``limit`` of them if given (the
        counts say how many there are)."""
        return self.summary() | {"findings": [f.as_dict() for f in islice(self.findings, limit)]}

    def write(self, directory: Path, chunk: int = 10_000) -> None:
        """``report.json`` and ``problems.geojson`` (the located findings, WGS 84) in
        ``directory``, in one pass over the findings, a chunk at a time: memory stays
        bounded however many there are."""
        paths = directory / "report.json", directory / "problems.geojson"
        with paths[0].open("wb") as report, paths[1].open("wb") as problems:
            head = orjson.dumps(self.summary(), option=orjson.OPT_INDENT_2, default=str)
            report.write(head[:-2] + b',\n  "findings": [')
            problems.write(b'{"type": "FeatureCollection", "features": [')
            listed = located = 0
            findings = iter(self.findings)
            while batch := list(islice(findings, chunk)):
                items = [orjson.dumps(f.as_dict(), default=str) for f in batch]
                report.write((b"," if listed else b"") + b"\n    " + b",\n    ".join(items))
                listed += len(items)
                features = _features([f for f in batch if f.where is not None])
                if features:
                    problems.write((b"," if located else b"") + b"\n" + b",\n".join(features))
                    located += len(features)
            report.write(b"\n  ]\n}\n")
            problems.write(b"\n]}\n")

    def problems_geojson(self) -> dict[str, Any]:
        """The located findings as a GeoJSON FeatureCollection in WGS 84."""
        located = [f for f in self.findings if f.where is not None]
        features = [orjson.loads(feature) for feature in _features(located)]
        return {"type": "FeatureCollection", "features": features}


def _features(located: list[Finding]) -> list[bytes]:
    """GeoJSON features (encoded) of findings with a location, transformed at once."""
    if not located:
        return []
    where = np.array([f.where for f in located], dtype=object)
    wkb = np.array([isinstance(w, bytes) for w in where], dtype=bool)
    if wkb.any():
        where[wkb] = shapely.from_wkb(where[wkb])
    geometries = shapely.to_geojson(transform_geometry(where, STORAGE_SRID, WGS84))
    return [
        b'{"type": "Feature", "geometry": '
        + geometry.encode()
        + b', "properties": '
        + orjson.dumps(f.as_dict() | {"key": f.key and str(f.key)}, default=str)
        + b"}"
        for f, geometry in zip(located, geometries, strict=True)
    ]
