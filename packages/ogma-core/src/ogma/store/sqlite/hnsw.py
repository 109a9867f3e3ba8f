"""The opt-in approximate index of a SQLite store: an HNSW graph (usearch) kept beside the file.

``Store(path, index="hnsw")`` searches a graph instead of scanning every vector. The graph is
built by `usearch <https://github.com/unum-cloud/usearch>`_ (``ogma-core[hnsw]``) over the
store's vectors: unit float32 vectors (inner product; held in bf16, f16 or f32,
:attr:`HnswOptions.dtype`, half precision then rescored with the float32 vectors), int8
(usearch's own ``i8``), or, for a binary store, int8 codes scaled per vector
(:func:`scaled_int8`; cosine, then the usual float rescoring of :data:`BINARY_OVERSAMPLE`
candidates per result). A binary store's graph does not walk its sign bits: the few hundred
candidates nearest by Hamming distance miss most true neighbours (recall@10 0.55 at 100,000
clustered 384-d vectors), and an adaptive depth on a Hamming graph needs thousands of them
(``benchmarks/bench_hnsw.py --binary-designs``). It lives in two files next to the store:

* ``<store>.hnsw``: usearch's own index file;
* ``<store>.hnsw.json``: its record: the store generation it reflects, the store's token
  (``ogma.index.token`` in the configuration table, so a recreated store never matches an old
  file), the graph's settings, and the index file's size, inode and modification time.

**Never trusted when stale.** Every committed write bumps the store's change counter
(``generation``). This process's own writes update the graph in memory right after they
commit (deletes are marked, so they are never returned); the files are written by
:meth:`HnswIndex.save` (when the store closes, and by ``Store.build_index``), since usearch
cannot append to a saved file. The graph is used only when the generation it reflects equals
the store's: a write by another process, or a process that died between a commit and the
save, leaves the file behind the store, and searches are then exact (a warning says so) until
the index is rebuilt. A rebuild is never started implicitly: at a million vectors it takes
minutes.

Example:
    >>> HnswOptions().connectivity, HnswOptions(exact_below=0).exact_below
    (16, 0)
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ogma.compress import normalize_in_place
from ogma.errors import StoreError, missing_extra
from ogma.heap import release_free_heap
from ogma.store.sqlite.binary_graph import BINARY_OVERSAMPLE, CHECK_QUERIES, check_expansion, scaled_int8
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.passing import PassingRows
from ogma.store.sqlite.schema import CONFIG, read_generation, search_generation
from ogma.store.sqlite.search import scanning, select_rowids
from ogma.store.sqlite.sql import DOCUMENTS, VEC_INDEX, quote_identifier
from ogma.store.sqlite.vectors import VectorCodec, iter_vectors

__all__ = [
    "BINARY_OVERSAMPLE",
    "EXACT_BELOW",
    "FLOAT_GRAPH_DTYPE",
    "GRAPH_DTYPES",
    "HALF_OVERSAMPLE",
    "INDEX_KINDS",
    "GraphDtype",
    "GraphHits",
    "HnswIndex",
    "HnswOptions",
    "IndexInfo",
    "IndexKind",
    "expansion_for",
    "hnsw_options",
    "index_files",
    "read_index_info",
    "scaled_int8",
]

logger = logging.getLogger(__name__)

IndexKind = Literal["hnsw"]
INDEX_KINDS: tuple[IndexKind, ...] = ("hnsw",)

EXACT_BELOW: dict[str, int] = {"float32": 5_000, "int8": 5_000, "binary": 5_000}
"""Per precision, stores with fewer vectors are searched exactly even with ``index="hnsw"``: below
these sizes the exact scan was as fast or faster (``benchmarks/bench_hnsw.py --crossover``, see
"Approximate index" in ``docs/store.md``; int8 was not measured and follows float32). A binary
store's int8 graph was faster than its exact search from 2,000 vectors on (at equal recall); its
Hamming graph, before, only from 50,000."""

BRUTE_FORCE_ROWS = 4096
"""A filter passing at most this many rows is answered by the exact search (over those rows only)."""

MAX_CANDIDATES = 2048
"""A filtered graph search asks for at most this many candidates; a filter that needs more is searched exactly."""

OVERFETCH = 2.0
"""A filtered graph search asks for ``count / pass fraction × OVERFETCH`` candidates, then keeps the passing ones."""

VECTOR_BOUNDS: dict[str, float] = {"f32": 0.0, "f16": 2.0**-11 + 2.0**-17, "bf16": 2.0**-8}
"""Per float graph type, a bound on ``‖x − x̃‖`` for a unit vector ``x`` and the graph's copy ``x̃``: round to nearest
loses at most 2^-8 of each value in bf16 and 2^-11 in f16 (whose subnormals, below 2^-14, lose at most 2^-25 each:
under 2^-17 in all up to 65,536 dimensions); f32 holds the unit vectors themselves. A cosine computed from the copy
is therefore within this bound of the exact one (Cauchy-Schwarz with a unit query)."""

_GRAPH_KINDS = {"float32": ("ip", "f32"), "int8": ("cos", "i8"), "binary": ("cos", "i8")}
"""usearch metric and scalar type per store precision: unit float32 vectors by inner product, usearch's
own int8 by cosine, and a binary store's vectors as int8 codes scaled per vector (:func:`scaled_int8`)
by cosine. A float32 store's graph may hold its vectors in half precision instead (:attr:`HnswOptions.dtype`).
Binary stores' graphs saved before held the packed sign bits (``"b1"``, Hamming): they count as stale."""

GraphDtype = Literal["f32", "f16", "bf16"]
GRAPH_DTYPES: tuple[GraphDtype, ...] = ("f32", "f16", "bf16")
"""Scalar types a float32 store's graph may hold its vectors in (usearch's names)."""

FLOAT_GRAPH_DTYPE: GraphDtype = "bf16"
"""The scalar type of a new float32 store's graph when :attr:`HnswOptions.dtype` is not given: bf16
(usearch's own default) walked fastest at equal recall once rescored (``benchmarks/bench_hnsw_dtype.py``,
"Approximate index" in ``docs/benchmarks.md``)."""

HALF_OVERSAMPLE = 1.5
"""Candidates taken from a half-precision graph per result wanted, then rescored with the float32 vectors
(1.5 reached the f32 graph's recall at 100k × 384-d; 2 and 3 gave the same recall, slower)."""

BASE_EXPANSION = 128
"""The search expansion of a graph of up to :data:`BASE_EXPANSION_SIZE` vectors when none is given."""

BASE_EXPANSION_SIZE = 100_000
"""Up to this many vectors the default search expansion is :data:`BASE_EXPANSION` (:func:`expansion_for`)."""


def expansion_for(size: int) -> int:
    """The default search expansion of a graph of ``size`` vectors.

    128 up to 100,000 vectors, then growing as ``size ** 0.6`` (in steps of 32): about 256 at
    300,000 and 512 at a million. A fixed 128 gave recall@10 0.997 at 100,000 vectors but 0.86
    at a million, where 512 gave 0.983 (``benchmarks/results/hnsw-1m-expansion.json``; the
    sizes between in "Approximate index" of ``docs/benchmarks.md``).

    Example:
        >>> expansion_for(50_000), expansion_for(300_000), expansion_for(1_000_000)
        (128, 256, 512)
    """
    if size <= BASE_EXPANSION_SIZE:
        return BASE_EXPANSION
    grown = BASE_EXPANSION * (size / BASE_EXPANSION_SIZE) ** 0.6
    return int(math.ceil(grown / 32) * 32)


TOKEN_KEY = "ogma.index.token"
FORMAT = 1
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class GraphHits:
    """What a graph search found, best first: rowids and the graph's own scores (higher is better).

    Example:
        >>> hits = GraphHits(np.array([4, 2]), np.array([0.9, 0.5]))
        >>> len(hits), hits.keys.tolist()
        (2, [4, 2])
    """

    keys: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @classmethod
    def empty(cls) -> GraphHits:
        """No hits."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


@dataclass(frozen=True)
class HnswOptions:
    """Settings of the HNSW graph (usearch's defaults but for ``expansion_search``).

    Attributes:
        connectivity: Edges per node (usearch's ``M``); fixed when the graph is built.
        expansion_add: Candidates considered while inserting (``efConstruction``).
        expansion_search: Candidates considered while searching (``ef``); at least the results asked for.
            ``None``: grows with the graph, 128 up to 100,000 vectors and 512 at a million
            (:func:`expansion_for`), so that recall holds as the store grows; a binary store's graph
            checks it and raises it, or searches exactly, where its walks fall short (:meth:`HnswIndex.expansion`).
        exact_below: Stores with fewer vectors are searched exactly (``None``: :data:`EXACT_BELOW`
            of the store's precision).
        dtype: What a float32 store's graph holds its vectors in: ``"f32"``, or ``"f16"`` /
            ``"bf16"`` (half the memory; the graph's candidates, :data:`HALF_OVERSAMPLE` per result,
            are rescored with the exact float32 vectors). ``None``: a saved graph's own type, and
            :data:`FLOAT_GRAPH_DTYPE` for a new one. A saved graph of another type than the one
            asked for is never used (searches are exact until it is rebuilt). int8 stores' graphs
            hold usearch's int8 codes, binary stores' int8 codes scaled per vector (:func:`scaled_int8`).
        mapped_share: What the float vectors read for rescoring may keep mapped into the process, as a share of
            the graph's vectors' float32 bytes (at least 256 MiB); past it SQLite's memory map is dropped
            (:class:`~ogma.store.sqlite.search.MapBudget`). ``None``: no limit (rescoring reads stay warm,
            and the RSS grows to the store's vector table: at a million 256-d vectors the default gave 1.33x
            the raw vector bytes and ``None`` about 1.8x, with the unfiltered p50 about 17% lower).

    Example:
        >>> HnswOptions(expansion_search=128).expansion_search
        128
    """

    connectivity: int = 16
    expansion_add: int = 128
    expansion_search: int | None = None
    exact_below: int | None = None
    dtype: GraphDtype | None = None
    mapped_share: float | None = 0.5

    def __post_init__(self) -> None:
        share = self.mapped_share
        if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)) or not share >= 0):
            raise ValueError(f"HnswOptions.mapped_share must be None (no limit) or a number >= 0, got {share!r}")
        if self.dtype is not None and self.dtype not in GRAPH_DTYPES:
            raise ValueError(
                f"HnswOptions.dtype must be None, 'f32', 'f16' or 'bf16' (the float32 graph's scalar type), "
                f"got {self.dtype!r}"
            )
        for name in ("connectivity", "expansion_add", "expansion_search", "exact_below"):
            value = getattr(self, name)
            if name in ("exact_below", "expansion_search") and value is None:
                continue
            low = 0 if name == "exact_below" else (2 if name == "connectivity" else 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"HnswOptions.{name} must be an integer >= {low}, got {value!r}")


def _usearch() -> Any:
    # ONNX Runtime first: importing it after usearch's extension module (usearch 2.26.6,
    # onnxruntime 1.32, Linux x86_64) crashes the process; the other order works.
    import onnxruntime  # noqa: F401

    try:
        import usearch.index
    except ImportError as exc:
        raise missing_extra("usearch", "hnsw", 'the approximate index (Store(..., index="hnsw"))') from exc
    return usearch.index


def hnsw_options(index: Any) -> HnswOptions | None:
    """The options of ``Store(index=...)``: ``None``, ``"hnsw"`` or :class:`HnswOptions`.

    Raises:
        ValueError: An unknown index name.
        MissingExtraError: usearch is not installed (``pip install 'ogma-core[hnsw]'``).

    Example:
        >>> hnsw_options(None) is None
        True
    """
    if index is None:
        return None
    if isinstance(index, HnswOptions):
        options = index
    elif isinstance(index, str) and index in INDEX_KINDS:
        options = HnswOptions()
    else:
        raise ValueError(
            f"index must be None (exact search), 'hnsw' or ogma.store.sqlite.hnsw.HnswOptions(...); got {index!r}"
        )
    _usearch()
    return options


def index_files(store_path: str) -> tuple[Path, Path]:
    """The index file and its record beside a store file.

    Example:
        >>> [p.name for p in index_files("notes.ogma")]
        ['notes.ogma.hnsw', 'notes.ogma.hnsw.json']
    """
    return Path(f"{store_path}.hnsw"), Path(f"{store_path}.hnsw.json")


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_ino, st.st_mtime_ns]


def _store_token(conn: Connection) -> str | None:
    value = conn.scalar(f"SELECT value FROM {CONFIG} WHERE key = ?", (TOKEN_KEY,))
    return None if value is None else str(value)


def _ensure_token(conn: Connection) -> str:
    token = _store_token(conn)
    if token is None:
        with conn.transaction():  # a setting: the change counter does not move
            conn.execute(f"INSERT OR IGNORE INTO {CONFIG} (key, value) VALUES (?, ?)", (TOKEN_KEY, uuid.uuid4().hex))
        token = _store_token(conn)
    return str(token)


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("cannot read the index record %s (%s): the index counts as stale", path, exc)
        return {}
    return record if isinstance(record, dict) else {}


@dataclass(frozen=True)
class IndexInfo:
    """What ``ogma info`` and ``Store.index_info()`` say about a store's approximate index.

    Attributes:
        kind: ``"hnsw"``.
        path: The index file.
        vectors: Vectors in the saved index (``None`` when there is no readable record).
        size_bytes: Size of the index file (``None``: no file).
        generation: The store generation the saved index reflects.
        store_generation: The store's generation now.
        fresh: Whether searches may use the saved index as it is.
        reason: Why not, or ``"up to date"``.
        settings: connectivity, expansion_add, dtype, metric of the saved graph.

    Example:
        >>> IndexInfo("hnsw", "a.hnsw", None, None, None, 3, False, "not built").fresh
        False
    """

    kind: str
    path: str
    vectors: int | None
    size_bytes: int | None
    generation: int | None
    store_generation: int
    fresh: bool
    reason: str
    settings: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _record_dtype(record: dict[str, Any]) -> Any:
    """The saved graph's scalar type (records written before half-precision graphs: ``"f32"``, or a binary
    store's ``"b1"``: its sign bits)."""
    return record.get("dtype", "b1" if record.get("precision") == "binary" else "f32")


def _check_record(
    record: dict[str, Any] | None,
    index_path: Path,
    generation: int,
    token: str | None,
    codec: VectorCodec | None,
    dtype: GraphDtype | None = None,
) -> str | None:
    """Why the saved index cannot be used at ``generation`` (``None``: it can)."""
    if record is None or not index_path.exists():
        return "not built"
    if record.get("format") != FORMAT or not isinstance(record.get("generation"), int):
        return "its record is unreadable or from another format"
    if token is None or record.get("token") != token:
        return "it was built for another store file"
    if record.get("stamp") != _stamp(index_path):
        return "the index file does not match its record (an interrupted save, or a copy)"
    if codec is not None and (record.get("precision"), record.get("dim")) != (codec.precision, codec.dim):
        return f"it was built for {record.get('precision')} {record.get('dim')}-d vectors"
    if codec is not None:
        saved = _record_dtype(record)
        allowed = GRAPH_DTYPES if codec.precision == "float32" else (_GRAPH_KINDS[codec.precision][1],)
        if codec.precision == "binary" and saved == "b1":
            return "it is a Hamming graph of sign bits, which binary stores no longer search (rebuild it: int8 graph)"
        if saved not in allowed:
            return f"its record names a graph of {saved!r} vectors, not one of {', '.join(allowed)}"
        if codec.precision == "float32" and dtype is not None and saved != dtype:
            return f"it holds {saved} vectors and HnswOptions(dtype={dtype!r}) asks for {dtype}"
    if record["generation"] != generation:
        return (
            f"the store changed after it was saved (index at generation {record['generation']}, "
            f"store at {generation}: a write by another process, or one not saved before the process ended)"
        )
    return None


def read_index_info(conn: Connection, store_path: str, codec: VectorCodec | None = None) -> IndexInfo | None:
    """The saved index of the store at ``store_path`` (``None`` when it has none); reads only.

    Example:
        >>> from ogma.store.sqlite.connect import connect
        >>> read_index_info(connect(":memory:"), ":memory:") is None
        True
    """
    index_path, record_path = index_files(store_path)
    record = _read_record(record_path)
    if store_path == ":memory:" or (record is None and not index_path.exists()):
        return None
    generation = read_generation(conn)
    reason = _check_record(record, index_path, generation, _store_token(conn), codec)
    record = record or {}
    settings = {key: record.get(key) for key in ("connectivity", "expansion_add", "dtype", "metric")}
    if record and "dtype" not in record:
        settings["dtype"] = _record_dtype(record)
    return IndexInfo(
        kind="hnsw",
        path=str(index_path),
        vectors=record.get("vectors") if isinstance(record.get("vectors"), int) else None,
        size_bytes=index_path.stat().st_size if index_path.exists() else None,
        generation=record.get("generation") if isinstance(record.get("generation"), int) else None,
        store_generation=generation,
        fresh=reason is None,
        reason=reason or "up to date",
        settings=settings,
    )


class HnswIndex:
    """The in-process graph of one store, at one store generation (thread-safe).

    Args:
        store_path: The store file (``":memory:"``: nothing is saved).
        codec: The store's vector codec (precision and dimension).
        options: Graph settings.
        read_only: Never write files; a saved index is memory-mapped (usearch ``view``).

    Example:
        >>> from ogma.store.sqlite.vectors import VectorCodec
        >>> HnswIndex(":memory:", VectorCodec("float32", 4), HnswOptions()).generation is None
        True
    """

    def __init__(self, store_path: str, codec: VectorCodec, options: HnswOptions, *, read_only: bool = False) -> None:
        self.store_path = store_path
        self.codec = codec
        self.options = options
        self.read_only = read_only
        self.generation: int | None = None  # what the in-memory graph reflects (None: no graph)
        self._index: Any = None
        self._saved: int | None = None
        self._token: str | None = None
        self._lock = threading.RLock()
        self._warned: int | None = None
        self._passing: OrderedDict[Hashable, PassingRows] = OrderedDict()
        self._passing_generation: int | None = None
        self._dtype: str | None = None  # the in-memory graph's scalar type (None: no graph)
        self._checked: tuple[int, int | None] | None = None  # (graph size, expansion) of the last check

    # -- the graph ----------------------------------------------------------------------
    def _wanted_dtype(self) -> str:
        """The scalar type of a graph built now."""
        if self.codec.precision != "float32":
            return _GRAPH_KINDS[self.codec.precision][1]
        return self.options.dtype or FLOAT_GRAPH_DTYPE

    @property
    def rescored(self) -> bool:
        """Whether the in-memory graph holds half-precision vectors of a float32 store (candidates are rescored)."""
        return self.codec.precision == "float32" and self._dtype in ("f16", "bf16")

    @property
    def vector_bound(self) -> float | None:
        """How far a cosine computed from the graph's own vectors can be from the exact one (``None``: not floats).

        See :data:`VECTOR_BOUNDS`; ``None`` for int8 and binary graphs, and without a graph.
        """
        if self.codec.precision != "float32" or self._dtype is None:
            return None
        return VECTOR_BOUNDS.get(self._dtype)

    def _spec(self, dtype: str | None = None) -> dict[str, Any]:
        metric, _ = _GRAPH_KINDS[self.codec.precision]
        dtype = dtype or self._dtype or self._wanted_dtype()
        return {"ndim": self.codec.dim, "metric": metric, "dtype": dtype}

    def _new(self) -> Any:
        spec = self._spec(self._wanted_dtype())
        return _usearch().Index(
            ndim=spec["ndim"],
            metric=spec["metric"],
            dtype=spec["dtype"],
            connectivity=self.options.connectivity,
            expansion_add=self.options.expansion_add,
            expansion_search=self.options.expansion_search or BASE_EXPANSION,
        )

    def _codes(self, unit: FloatArray) -> npt.NDArray[Any]:
        if self.codec.precision == "binary":
            return scaled_int8(unit)
        return np.ascontiguousarray(unit, dtype=np.float32)

    @property
    def unsaved(self) -> bool:
        """Whether the in-memory graph is ahead of the saved one (and could be saved)."""
        saveable = not self.read_only and self.store_path != ":memory:" and self._index is not None
        return saveable and self.generation is not None and self._saved != self.generation

    @property
    def exact_below(self) -> int:
        """Below this many vectors searches are exact."""
        chosen = self.options.exact_below
        return EXACT_BELOW[self.codec.precision] if chosen is None else chosen

    @property
    def size(self) -> int:
        """Vectors in the in-memory graph (0 without one)."""
        return 0 if self._index is None else int(self._index.size)

    # -- staying in step with the store ---------------------------------------------------
    def attach(self, conn: Connection) -> bool:
        """Whether the graph reflects the store's current generation, loading the saved one if it does.

        An empty store (no vector yet) starts an empty graph. Otherwise a graph that is not
        current is dropped and searches are exact (a warning, once per generation, says why).
        Inside a search, the generation that search read first (:func:`~ogma.store.sqlite.schema.pin_generation`).
        """
        generation = search_generation(conn)
        with self._lock:
            if self._index is not None and self.generation == generation:
                return True
            self._drop()
            index_path, record_path = index_files(self.store_path)
            token = _store_token(conn)
            reason = "the store is in memory" if self.store_path == ":memory:" else None
            if reason is None:
                record = _read_record(record_path)
                reason = _check_record(record, index_path, generation, token, self.codec, self.options.dtype)
            if reason is None:
                return self._load(index_path, generation, token, _record_dtype(record or {}))
            if not self.read_only and not _has_vectors(conn):
                self._index, self.generation, self._dtype = self._new(), generation, self._wanted_dtype()
                self._token = token if self.store_path == ":memory:" else _ensure_token(conn)
                return True
            if self._warned != generation:
                self._warned = generation
                logger.warning(
                    "the HNSW index of %s is not used (%s): searching exactly; rebuild it with Store.build_index() "
                    "or `ogma index --hnsw --db %s`",
                    self.store_path,
                    reason,
                    self.store_path,
                )
            return False

    def _load(self, index_path: Path, generation: int, token: str | None, dtype: str) -> bool:
        try:
            index = _usearch().Index.restore(str(index_path), view=self.read_only)
        except (RuntimeError, ValueError, OSError) as exc:
            logger.warning("cannot load the HNSW index %s (%s): searching exactly", index_path, exc)
            return False
        if index is None:
            return False
        if str(index.dtype).rsplit(".", 1)[-1].lower() != dtype:  # usearch's own header (ScalarKind.BF16)
            logger.warning(
                "the HNSW index %s does not hold %s vectors as its record says: searching exactly", index_path, dtype
            )
            return False
        self._index, self.generation, self._saved, self._token = index, generation, generation, token
        self._dtype, self._checked = dtype, None
        return True

    def _drop(self) -> None:
        self._index = None
        self._checked = None
        self._dtype = None
        self.generation = None
        self._passing.clear()

    def record_write(
        self,
        old_generation: int,
        new_generation: int,
        rowids: npt.NDArray[np.int64],
        unit: FloatArray | None,
        added: npt.NDArray[np.int64] | None = None,
    ) -> None:
        """Apply this process's committed write: remove ``rowids``, then add ``added`` (default: ``rowids``).

        Called after the commit, so it never raises: a graph that cannot follow is dropped
        (the store then searches exactly until the index is rebuilt).
        """
        with self._lock:
            if self._index is None:
                return
            if self.generation != old_generation or self.read_only:
                self._drop()
                return
            try:
                removed = np.asarray(rowids, dtype=np.int64)
                if removed.size:
                    self._index.remove(removed.astype(np.uint64))
                keys = removed if added is None else np.asarray(added, dtype=np.int64)
                if unit is not None and keys.size:
                    self._index.add(keys.astype(np.uint64), self._codes(unit))
            except (RuntimeError, ValueError, MemoryError) as exc:
                logger.warning("the HNSW index could not follow a write (%s): exact search until it is rebuilt", exc)
                self._drop()
                return
            self.generation = new_generation

    # -- building and saving ----------------------------------------------------------------
    def build(self, conn: Connection, *, show_progress: bool = False) -> int:
        """Build the graph from every stored vector and save it; returns how many vectors it holds.

        Reads inside one read transaction (a snapshot: writers are not blocked), so the graph
        is the store's state at one generation; a write committed meanwhile makes it stale.
        The vectors come in batches of 1 MiB (:func:`~ogma.store.sqlite.vectors.iter_vectors`),
        normalised in place, read unmapped through a small page cache
        (:func:`~ogma.store.sqlite.search.scanning`): the build holds the graph and one batch.
        """
        if self.read_only:
            raise StoreError("this store was opened with read_only=True; open it without it to build its index")
        token = None if self.store_path == ":memory:" else _ensure_token(conn)
        index, dtype = self._new(), self._wanted_dtype()
        with scanning(conn), _snapshot(conn):
            generation = read_generation(conn)
            total = conn.scalar(f"SELECT count(*) FROM {quote_identifier(VEC_INDEX)}") if _has_vectors(conn) else 0
            with tqdm(total=int(total or 0), disable=not show_progress, unit="vec", desc="HNSW") as bar:
                if total:
                    for rowids, matrix in iter_vectors(conn, self.codec):
                        index.add(rowids.astype(np.uint64), self._codes(normalize_in_place(matrix)))
                        bar.update(len(rowids))
        with self._lock:
            self._index, self.generation, self._token, self._saved = index, generation, token, None
            self._dtype, self._checked = dtype, None
            self._passing.clear()
        release_free_heap(int(index.size) * 4 * self.codec.dim)  # the batches read, freed inside the heap
        self.save()
        return int(index.size)

    def save(self) -> bool:
        """Write the graph and its record if they are behind the in-memory graph; returns whether it wrote.

        The index goes to a temporary file renamed into place, then the record (with the new
        file's size, inode and time) the same way: a save cut short leaves a record that does
        not match the file, which counts as stale.
        """
        with self._lock:
            if not self.unsaved:
                return False
            index_path, record_path = index_files(self.store_path)
            tmp = index_path.with_name(f"{index_path.name}.tmp-{os.getpid()}")
            self._index.save(str(tmp))
            os.replace(tmp, index_path)
            spec = self._spec()
            record = {
                "format": FORMAT,
                "kind": "hnsw",
                "generation": self.generation,
                "token": self._token,
                "precision": self.codec.precision,
                "dim": self.codec.dim,
                "dtype": spec["dtype"],
                "metric": spec["metric"],
                "connectivity": self.options.connectivity,
                "expansion_add": self.options.expansion_add,
                "vectors": int(self._index.size),
                "stamp": _stamp(index_path),
            }
            tmp_record = record_path.with_name(f"{record_path.name}.tmp-{os.getpid()}")
            tmp_record.write_text(json.dumps(record), encoding="utf-8")
            os.replace(tmp_record, record_path)
            self._saved = self.generation
            return True

    # -- searching ------------------------------------------------------------------------------
    def passing(self, conn: Connection, filter_sql: str, params: Sequence[Any]) -> PassingRows:
        """The rows passing a compiled filter, cached for the graph's generation.

        At most 16 filters are kept, and in all at most 4 rowids' bytes (32) per graph vector,
        least recently used dropped first; a result is cached only when the change counter did
        not move meanwhile.
        """
        key = (filter_sql, tuple((type(p).__name__, p) for p in params))
        with self._lock:
            if self._passing_generation != self.generation:
                self._passing.clear()
                self._passing_generation = self.generation
            found = self._passing.get(key)
            if found is not None:
                self._passing.move_to_end(key)
        if found is not None:
            return found
        found = PassingRows(
            select_rowids(conn, f"SELECT rowid FROM {quote_identifier(DOCUMENTS)} WHERE {filter_sql}", params)
        )
        with self._lock:
            if self._passing_generation == self.generation == read_generation(conn):
                self._passing[key] = found
                held = sum(p.nbytes for p in self._passing.values())
                while len(self._passing) > 16 or held > 32 * max(self.size, 1):  # the mirror's budget
                    held -= self._passing.popitem(last=False)[1].nbytes
        return found

    def search(self, unit: FloatArray, count: int, passing: PassingRows | None = None) -> GraphHits | None:
        """The ``count`` nearest rowids and their scores, best first (among ``passing``, if given).

        Scores are cosines for float32 (``1 -`` usearch's inner-product distance; of the
        half-precision vectors for an ``f16``/``bf16`` graph) and usearch's cosine of int8 codes
        (int8 and binary stores); the search pipeline rescores all but the first (:attr:`rescored`)
        with the float vectors.

        Returns:
            The hits, or ``None`` when a binary store's graph is unfit (:meth:`expansion`), or a
            filter is too selective for the graph (at most
            :data:`BRUTE_FORCE_ROWS` rows pass, or more than :data:`MAX_CANDIDATES` candidates
            would be needed to find ``count`` passing ones): the caller then searches exactly.
        """
        with self._lock:
            index = self._index
            size = self.size
            if index is None or count <= 0 or size == 0:
                return GraphHits.empty()
            expansion = self.expansion()
            if expansion is None:
                return None
            if index.expansion_search != expansion:
                index.expansion_search = expansion
            query = self._codes(np.asarray(unit, dtype=np.float32).reshape(1, -1))[0]
            if passing is None:
                return self._graph(index, query, min(count, size))
            if passing.size <= BRUTE_FORCE_ROWS:
                return None
            want = math.ceil(count * size / passing.size * OVERFETCH)
            while want <= MAX_CANDIDATES:
                hits = self._graph(index, query, min(want, size))
                kept = passing.contains(hits.keys)
                if np.count_nonzero(kept) >= count or len(hits) < want:
                    return GraphHits(hits.keys[kept][:count], hits.scores[kept][:count])
                want *= 4
            return None

    def expansion(self) -> int | None:
        """The search expansion of the graph as it is now (``None``: a binary store's graph is unfit; search exactly).

        :attr:`HnswOptions.expansion_search` when given, else :func:`expansion_for` the graph's size.
        A binary store's graph checks that on its first search, and again whenever it has doubled or
        halved since: its own vectors, walked as queries, must find what a walk at a much larger
        expansion finds among the candidates a search takes (:data:`BINARY_OVERSAMPLE` per result);
        if they do not, the expansion doubles a few times, and beyond that the graph is unfit (a
        warning says so) and searches are exact (:func:`~ogma.store.sqlite.graph_check.check_expansion`).
        """
        with self._lock:
            index = self._index
            if index is None:
                return None
            size = int(index.size)
            base = expansion_for(size)
            if self.options.expansion_search is not None:
                return self.options.expansion_search
            if self.codec.precision != "binary" or size <= 2 * CHECK_QUERIES:
                return base
            checked = self._checked
            if checked is None or not checked[0] / 2 <= size <= checked[0] * 2:
                checked = self._checked = (size, check_expansion(index, base, BINARY_OVERSAMPLE, self.store_path))
            return None if checked[1] is None else max(checked[1], base)

    def _graph(self, index: Any, query: npt.NDArray[Any], count: int) -> GraphHits:
        matches = index.search(query, count, threads=1)  # one query: no thread pool hand-off (1.0 vs 1.9 ms)
        distances = np.asarray(matches.distances, dtype=np.float64)
        return GraphHits(np.asarray(matches.keys, dtype=np.int64), 1.0 - distances)

    def vectors(self, rowids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The graph's own float vectors of ``rowids`` (those it holds): ``(rowids, (m, d) float32)``.

        For a float32 store's graph only (:attr:`vector_bound` tells how close they are to the
        unit vectors). Read from the graph itself, so no copy of the vectors is needed beside it.
        """
        with self._lock:
            if self._index is None or rowids.size == 0:
                return np.zeros(0, dtype=np.int64), np.zeros((0, self.codec.dim), dtype=np.float32)
            found = self._index.get(rowids.astype(np.uint64), np.float32)
        held = [i for i, vector in enumerate(found) if vector is not None]
        if not held:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.codec.dim), dtype=np.float32)
        matrix = np.stack([found[i] for i in held]).astype(np.float32, copy=False)
        return rowids[held], matrix.reshape(len(held), self.codec.dim)


@contextlib.contextmanager
def _snapshot(conn: Connection) -> Iterator[None]:
    """A read transaction: every read inside sees the store at one generation."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def _has_vectors(conn: Connection) -> bool:
    if conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (VEC_INDEX,)) is None:
        return False
    return conn.scalar(f"SELECT 1 FROM {quote_identifier(VEC_INDEX)} LIMIT 1") is not None
