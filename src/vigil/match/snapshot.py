"""Index snapshots: build the PDQ index from the store once, write it to disk, map it everywhere.

A snapshot is a folder of .npy arrays under `<dir>/<version>/`, and `<dir>/CURRENT` names the
live version (replaced atomically). Service workers memory-map the arrays, so N workers share one
copy in the page cache, and each checks `CURRENT` before a request: a rebuilt snapshot is picked
up without restarting anything, while requests in flight finish on the old one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from vigil.match.pdq_index import (
    DEFAULT_RADIUS,
    FLAT_LIMIT,
    FlatIndex,
    MultiIndexHash,
    PdqIndex,
    flat_limit_for,
)
from vigil.match.tiers import index_radius
from vigil.store.db import Store
from vigil.store.repo import calibrations, generations, lists

POINTER = "CURRENT"
KEEP = 3


def write(
    store: Store,
    folder: Path,
    flat_limit: int = FLAT_LIMIT,
    *,
    generation: int | None = None,
    radius: int = DEFAULT_RADIUS,
) -> Path:
    """Build from the store's known PDQ entries; returns the new version's folder. `generation` is
    the store's list generation read before the entries (so the snapshot is never labelled newer
    than its content). A multi-index hash is built exact up to `radius` or the widest calibrated
    weak radius, whichever is wider."""
    if generation is None:
        with store.session() as session:
            generation = generations.current(session)
    found = lists.pdq_codes(store)
    ids, codes = found.ids, found.codes
    version = folder / f"v{time.time_ns()}"
    version.mkdir(parents=True)
    np.save(version / "ids.npy", ids)
    np.save(version / "regions.npy", found.regions)
    np.save(version / "codes.npy", codes)
    with store.session() as tx:  # exact up to the widest calibrated weak radius
        radius = index_radius(radius, (row.weak_radius for row in calibrations.latest(tx).values()))
    kind = "flat" if len(codes) <= flat_limit_for(radius, flat_limit) else "mih"
    if kind == "mih":
        for name, array in MultiIndexHash(codes, radius=radius).arrays().items():
            np.save(version / f"mih_{name}.npy", array)
    meta = {"kind": kind, "entries": len(ids), "generation": generation}
    (version / "meta.json").write_text(json.dumps(meta))
    pointer = folder / f".{POINTER}.tmp"
    pointer.write_text(version.name)
    os.replace(pointer, folder / POINTER)
    for old in sorted(p for p in folder.glob("v*") if p.is_dir())[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return version


def current(folder: Path) -> Path | None:
    pointer = folder / POINTER
    return folder / pointer.read_text().strip() if pointer.exists() else None


def generation_of(folder: Path) -> int:
    """The list generation the live snapshot was built from (-1 when there is none)."""
    version = current(folder)
    if version is None or not (version / "meta.json").exists():
        return -1
    return int(json.loads((version / "meta.json").read_text()).get("generation", -1))


def load(folder: Path) -> tuple[np.ndarray, np.ndarray, PdqIndex]:
    """Entry ids, known-region names ("" for a whole picture) and the index, row for row."""
    version = current(folder)
    if version is None:
        raise FileNotFoundError(f"no index snapshot in {folder}")
    meta = json.loads((version / "meta.json").read_text())
    ids = np.load(version / "ids.npy", mmap_mode="r")
    regions_file = version / "regions.npy"  # snapshots written before region hashes have none
    regions = np.load(regions_file) if regions_file.exists() else np.full(len(ids), "", dtype="U8")
    if meta["kind"] == "flat":
        return np.asarray(ids), regions, FlatIndex(np.load(version / "codes.npy"))
    arrays = {p.stem[4:]: np.load(p, mmap_mode="r") for p in version.glob("mih_*.npy")}
    return ids, regions, MultiIndexHash.from_arrays(arrays)
