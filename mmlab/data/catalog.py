"""MiniMart, the workbook's shop: one entry point, ``load_catalog(fast=..., seed=...)``.

It returns a :class:`Catalog` of pandas tables (types, SKUs, reviews, users, behaviour events, queries and graded
relevance) with lazy access to product photos, shoppers' query photos and spoken queries. The catalog is generated
deterministically from the committed assets and a seed, then cached under the cache directory with a manifest
(format version, asset fingerprint, sha256 of every file). A cache whose manifest does not match is rebuilt.

Notebooks call :func:`mmlab.data.open.open_catalog`: MiniMart, or your own catalog when ``MMLAB_CATALOG`` names its
folder.
Run ``python -m mmlab.data.catalog [--fast] [--seed N]`` to build it and print its figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from mmlab.config import cache_dir
from mmlab.data import noise, speech
from mmlab.data.assets import art, asset_fingerprint, load_types, review_sentences_path
from mmlab.data.behaviour import simulate_behaviour
from mmlab.data.images import fit_photo, on_background, rotate_hue, shopper_photo
from mmlab.data.queries import generate_queries
from mmlab.data.reviews import generate_reviews, load_review_sentences
from mmlab.data.skus import generate_skus

CATALOG_ENV = "MMLAB_CATALOG"  # the folder of your own catalog (see data/README.md); unset: MiniMart
CATALOG_VERSION = 4  # bump when the generator changes: every cached catalog is then rebuilt
TABLES = ("types", "skus", "reviews", "users", "events", "queries", "qrels")
ZERO_SHOT_SHARE = 0.1  # share of product types held out of training entirely

SIZES = {
    "full": {"types_per_department": None, "text_en": 3000, "text_zh": 2000, "image": 2000, "voice": 1000,
             "composed": 600, "users": 1500, "sessions_per_user": 8.0},
    "fast": {"types_per_department": 4, "text_en": 300, "text_zh": 200, "image": 200, "voice": 60,
             "composed": 60, "users": 150, "sessions_per_user": 6.0},
}


@dataclass
class Catalog:
    """The MiniMart tables plus lazy access to photos and audio."""

    types: pd.DataFrame
    skus: pd.DataFrame
    reviews: pd.DataFrame
    users: pd.DataFrame
    events: pd.DataFrame
    queries: pd.DataFrame
    qrels: pd.DataFrame
    fast: bool
    seed: int
    folder: Path
    _sku_index: dict[str, int] = field(init=False, repr=False)
    _query_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sku_index = {s: i for i, s in enumerate(self.skus.sku_id)}
        self._query_index = {q: i for i, q in enumerate(self.queries.query_id)}

    def sku(self, sku_id: str) -> pd.Series:
        """One SKU's row."""
        if sku_id not in self._sku_index:
            raise KeyError(f"unknown sku_id {sku_id!r}; SKU ids look like {self.skus.sku_id.iloc[0]!r}")
        return self.skus.iloc[self._sku_index[sku_id]]

    def query(self, query_id: str) -> pd.Series:
        """One query's row."""
        if query_id not in self._query_index:
            raise KeyError(f"unknown query_id {query_id!r}; query ids look like {self.queries.query_id.iloc[0]!r}")
        return self.queries.iloc[self._query_index[query_id]]

    def _art(self, sku: pd.Series, artist: str) -> Image.Image:
        """A SKU's 64x64 RGBA art: its own photo file in your own catalog (``image_path``), else the emoji art."""
        if sku.get("image_path", ""):
            return fit_photo(sku.image_path)
        return art(sku.code, artist)

    def product_image(self, sku_id: str) -> Image.Image:
        """The catalog photo of a SKU: 64x64 RGB, the art in the SKU's colour (or its own photo) on white."""
        sku = self.sku(sku_id)
        return on_background(rotate_hue(self._art(sku, "google"), sku.hue_shift))

    def query_image(self, query_id: str) -> Image.Image:
        """The shopper's photo of an image or composed query: 64x64 RGB (own catalogs: a shot of the real photo)."""
        query = self.query(query_id)
        if query.modality not in ("image", "composed"):
            raise ValueError(f"query {query_id} is a {query.modality} query; only image and composed queries "
                             "have a photo")
        source = self.sku(query.source_sku)
        return shopper_photo(rotate_hue(self._art(source, "twitter"), query.hue_shift),
                             np.random.default_rng(query.image_seed))

    def query_audio(self, query_id: str) -> np.ndarray:
        """The spoken query: mono float32 at 16 kHz (own catalogs: the file in ``audio_path``)."""
        query = self.query(query_id)
        if query.modality != "voice":
            raise ValueError(f"query {query_id} is a {query.modality} query; only voice queries have audio")
        wave, _ = speech.read_wav(query.get("audio_path", "") or self.folder / "audio" / f"{query_id}.wav")
        return wave

    def relevance(self, query_ids: pd.Series | list[str] | None = None) -> dict[str, dict[str, int]]:
        """Graded relevance as {query_id: {sku_id: grade}} for the given queries (all by default)."""
        qrels = self.qrels if query_ids is None else self.qrels[self.qrels.query_id.isin(set(query_ids))]
        return {q: dict(zip(g.sku_id, g.grade)) for q, g in qrels.groupby("query_id", sort=False)}

    def fingerprint(self) -> str:
        """A short hash of every table: the data version that trained models are keyed by, so a model
        trained on other SKUs, queries, reviews or sessions is retrained, never reused."""
        digest = hashlib.sha256()
        for name in TABLES:
            digest.update(name.encode())
            digest.update(pd.util.hash_pandas_object(getattr(self, name), index=False).to_numpy().tobytes())
        return digest.hexdigest()[:16]

    def summary(self) -> pd.DataFrame:
        """Headline figures: how many of everything, and queries per modality, language and split."""
        figures = {"product types": len(self.types), "departments": self.types.department.nunique(),
                   "zero-shot types": int(self.types.zero_shot.sum()), "SKUs": len(self.skus),
                   "reviews": len(self.reviews), "users": len(self.users),
                   "sessions": self.events.session_id.nunique(), "events": len(self.events),
                   "queries": len(self.queries)}
        rows = [(name, value) for name, value in figures.items()]
        grouped = self.queries.groupby(["modality", "lang", "split"]).size()
        rows += [(f"queries {m}/{lang or '-'}/{s}", int(n)) for (m, lang, s), n in grouped.items()]
        return pd.DataFrame(rows, columns=["what", "count"])


def _select_types(types: pd.DataFrame, per_department: int | None, rng: np.random.Generator) -> pd.DataFrame:
    """All types, or a few per department for FAST mode; a share marked zero-shot (held out of training)."""
    if per_department is not None:
        picks = [g.iloc[np.sort(rng.choice(len(g), min(per_department, len(g)), replace=False))]
                 for _, g in types.groupby("department", sort=True)]
        types = pd.concat(picks).sort_values("type_id")
    n_zero = max(3, round(ZERO_SHOT_SHARE * len(types)))
    zero = set(rng.choice(types.type_id.to_numpy(), n_zero, replace=False).tolist())
    return types.assign(zero_shot=types.type_id.isin(zero)).reset_index(drop=True)


def _synthesize_audio(queries: pd.DataFrame, folder: Path) -> None:
    """Speak every voice query with espeak-ng, add background noise at its SNR and save a 16-bit WAV."""
    audio = folder / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    for q in queries[queries.modality == "voice"].itertuples():
        clean = speech.synthesize(q.text, q.lang, voice=q.voice, rate=int(q.rate), pitch=int(q.pitch))
        rng = np.random.default_rng(int(q.query_id[1:]))
        speech.write_wav(audio / f"{q.query_id}.wav", noise.mix_noise(clean, float(q.snr_db), rng, q.noise))


def build_catalog(fast: bool, seed: int, folder: Path) -> Catalog:
    """Generate every table (and the voice clips into ``folder/audio``) from the assets and a seed."""
    sizes = SIZES["fast" if fast else "full"]
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    types = _select_types(load_types(), sizes["types_per_department"], streams[0])
    skus = generate_skus(types, streams[1])
    reviews = generate_reviews(skus, load_review_sentences(review_sentences_path()), streams[2])
    users, events = simulate_behaviour(skus, sizes["users"], sizes["sessions_per_user"], streams[3])
    voices = {lang: len(names) for lang, names in speech.VOICES.items()}
    queries, qrels = generate_queries(types, skus, set(types.type_id[types.zero_shot]), sizes, streams[4], voices)
    _synthesize_audio(queries, folder)
    return Catalog(types, skus, reviews, users, events, queries, qrels, fast, seed, folder)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _expected_manifest(fast: bool, seed: int) -> dict:
    return {"version": CATALOG_VERSION, "assets": asset_fingerprint(), "fast": fast, "seed": seed}


def save_catalog(catalog: Catalog) -> None:
    """Write the tables as Parquet and a manifest with the sha256 of every file (tables and audio)."""
    for name in TABLES:
        getattr(catalog, name).to_parquet(catalog.folder / f"{name}.parquet", index=False)
    files = sorted(p for p in catalog.folder.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest = _expected_manifest(catalog.fast, catalog.seed) | {
        "files": {p.relative_to(catalog.folder).as_posix(): _sha256(p) for p in files}}
    (catalog.folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


def stale_reason(folder: Path, fast: bool, seed: int) -> str | None:
    """Why the cached catalog in ``folder`` cannot be used (None if it can)."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        return "no cached catalog yet"
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError:  # JSON or UTF-8 decoding
        return "the manifest is not valid JSON"
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return "the manifest is not a JSON object with the cached files' checksums"
    for key, expected in _expected_manifest(fast, seed).items():
        if manifest.get(key) != expected:
            return f"cached {key} is {manifest.get(key)!r}, expected {expected!r}"
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if not path.exists() or _sha256(path) != digest:
            return f"{name} is missing or its checksum changed"
    return None


def read_catalog(folder: Path, fast: bool, seed: int) -> Catalog:
    """Read a cached catalog (call :func:`stale_reason` first)."""
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    return Catalog(**tables, fast=fast, seed=seed, folder=folder)


def load_catalog(fast: bool = False, seed: int = 0, cache: Path | None = None, verbose: bool = True) -> Catalog:
    """The MiniMart catalog for a mode and seed: from the cache if it is current, else built and cached."""
    if not isinstance(fast, bool):
        raise TypeError(f"fast must be True or False, got {fast!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}; pass e.g. seed=0")
    folder = (cache or cache_dir()) / "catalog" / f"{'fast' if fast else 'full'}-seed{seed}"
    reason = stale_reason(folder, fast, seed)
    if reason is None:
        return read_catalog(folder, fast, seed)
    if verbose:
        print(f"Building the MiniMart catalog ({'FAST' if fast else 'full'}, seed {seed}): {reason} ...")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    catalog = build_catalog(fast, seed, folder)
    save_catalog(catalog)
    if verbose:
        print(f"... built in {time.perf_counter() - start:.1f} s and cached in {folder}")
    return catalog


def main() -> None:
    parser = argparse.ArgumentParser(description="Build (or load) the MiniMart catalog and print its figures.")
    parser.add_argument("--fast", action="store_true", help="the small FAST-mode catalog")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    catalog = load_catalog(fast=args.fast, seed=args.seed)
    print(catalog.summary().to_string(index=False))
    print(f"ready in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
