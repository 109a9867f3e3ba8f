"""Long documents: how to embed and search texts longer than the model's token window.

Builds long-document sets from BEIR collections of short passages: the passages are
shuffled (seeded) and joined, ``--group`` at a time, into one document, either with a
blank line between them (``blank``: a paragraph splitter finds the passages' own
boundaries) or with a single space (``space``: no paragraph boundary to find); both are
measured, and a design is chosen by its worst case over sets and joinings. A document's
relevance to a query is the highest grade of its passages. Each document is embedded by
window designs and ranked by cosine similarity:

* ``first_window``: the text as one model input, cut at the window;
* ``tokens-S-O``: token windows of ``S`` tokens, ``O`` shared (``ogma.windows.plan_windows``
  over ``ogma.chunking``: cut at a paragraph, sentence or word boundary when that keeps a
  window at least half full); ``tokens-254-32`` is the model-wide window;
* ``sentences-S-O``: whole sentences packed up to ``S`` tokens (``ogma.windows.sentence_windows``);
  ``paragraphs-S-O``: the same, never across a blank line;
* ``segments-…``: passage boundaries found from the text alone (TextTiling depth scores over
  sentence embeddings, ``SEGMENTS``), then whole sentences packed within a segment; the
  sentences embedded to find them are counted apart (``segmentation_tokens_per_document``);
* ``A + B``: multi-granularity, a document scores by its best window of both designs;
* ``store windows``: what ``ogma.Store`` keeps (``TextEncoder.encode_windows``: the first
  full-width window, then ``ogma.windows.STORE_FINE_WINDOWS``: whole sentences within a
  paragraph packed up to 64 tokens and again up to 32);
* ``oracle``: each original passage embedded alone, the document scores by its best
  passage (the split a perfect splitter would make);
* ``late-oN`` (late chunking, contextual window vectors): the store's windows exactly, but
  each window's vector is the mean of its tokens' states (the last hidden state, before
  pooling) from one model run over a long span of the document: the first span is the first
  window, the next ones hold up to the model's window and share ``N`` tokens with the one
  before; a window is pooled within the span that gives it the most context on both sides.
  ``late-wM-oN``: spans of at most ``M`` tokens after the first (less context per window).
  ``late-oN + plain W`` blends: ``normalise(W·contextual + (1 - W)·plain)`` per window.
  Measured against ``store windows`` by the paired per-query difference of nDCG@10.

Each design is scored by its best window (``best_window``) and by the mean of its
windows (``mean``). With ``--store`` the store's windows are also measured end to end
through ``ogma.Store.add`` + ``Store.search`` (dense and hybrid) with the store's defaults.
Embeddings are cached per window text under ``benchmarks/.cache/long-documents`` (the
key ignores whitespace, which the model's tokenizer drops), so reruns and designs that
share windows embed them once.

Sets: nano-dbpedia (``--data``) and, when ``--techdocs`` names a folder written by
``benchmarks/build_techdocs.py``, its ``python-nl`` / ``python-ids`` and ``packages-nl`` /
``packages-ids`` (one corpus per source).

Run:
    HF_HUB_OFFLINE=1 python benchmarks/bench_long_documents.py --data ../shared/datasets/nano-dbpedia \\
        --techdocs /tmp/techdocs --threads 2 --store
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpu_flags

ROOT = Path(__file__).resolve().parents[1]
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
CACHE = ROOT / "benchmarks" / ".cache" / "long-documents"
LATE_CACHE = "long-documents-late"  # beside CACHE: late-chunking window vectors, per span layout
# How passages are joined into a document: a blank line hands a paragraph splitter the oracle's
# boundaries, a single space hides them (both are measured; a design is chosen by the worst case).
JOINERS = {"blank": "\n\n", "space": " "}


def group_documents(
    passage_ids: list[str], texts: dict[str, str], *, group: int, seed: int, joiner: str = "blank"
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """``({doc_id: [passage ids]}, {doc_id: text})``: passages shuffled and joined ``group`` at a time."""
    order = sorted(passage_ids)
    random.Random(seed).shuffle(order)
    members: dict[str, list[str]] = {}
    docs: dict[str, str] = {}
    for start in range(0, len(order), group):
        doc_id = f"doc{start // group:05d}"
        members[doc_id] = order[start : start + group]
        docs[doc_id] = JOINERS[joiner].join(texts[p] for p in members[doc_id])
    return members, docs


def document_qrels(qrels: dict[str, dict[str, int]], members: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """A document's grade is the highest grade of its passages (judged passages only)."""
    owner = {p: d for d, ps in members.items() for p in ps}
    out: dict[str, dict[str, int]] = {}
    for query, judged in qrels.items():
        grades: dict[str, int] = {}
        for passage, grade in judged.items():
            if passage in owner:
                doc = owner[passage]
                grades[doc] = max(grades.get(doc, 0), grade)
        out[query] = grades
    return out


def ranking(scores: np.ndarray, doc_ids: list[str], k: int = 100) -> dict[str, float]:
    top = np.argsort(-scores, kind="stable")[:k]
    return {doc_ids[i]: float(scores[i]) for i in top}


def token_stats(encoder: Any, doc_texts: list[str]) -> dict[str, float]:
    """Tokens of text per document (never truncated), and the share longer than the window."""
    tokens = np.array([len(encoder.text_token_ids(t)) for t in doc_texts])
    return {
        "median": int(np.median(tokens)),
        "p10": int(np.percentile(tokens, 10)),
        "p90": int(np.percentile(tokens, 90)),
        "share_over_window": round(float(np.mean(tokens > encoder.max_tokens)), 4),
    }


class QuerySet:
    """One query set over the grouped documents: embedded queries and document-level qrels."""

    def __init__(self, encoder: Any, queries: dict[str, str], dq: dict[str, dict[str, int]], doc_ids: list[str]):
        self.ids = [q for q in queries if any(g > 0 for g in dq.get(q, {}).values())]
        self.qrels = {x: dq[x] for x in self.ids}
        self.vectors = encoder.encode_queries([queries[x] for x in self.ids]) if self.ids else None
        self.texts = {x: queries[x] for x in self.ids}
        self.doc_ids = doc_ids

    def evaluate(self, doc_scores: np.ndarray) -> dict[str, float]:
        from ogma.evaluate.metrics import evaluate_run

        run = {qid: ranking(doc_scores[i], self.doc_ids) for i, qid in enumerate(self.ids)}
        return {m: round(v, 4) for m, v in evaluate_run(run, self.qrels, metrics=METRICS).items()}

    def score(self, matrix: np.ndarray) -> dict[str, float]:
        return self.evaluate(self.vectors @ matrix.T)

    def per_query(self, doc_scores: np.ndarray) -> np.ndarray:
        """nDCG@10 of each query (in ``self.ids`` order), for paired differences between designs."""
        from ogma.evaluate.metrics import evaluate_run

        run = {qid: ranking(doc_scores[i], self.doc_ids) for i, qid in enumerate(self.ids)}
        per = evaluate_run(run, self.qrels, metrics=("ndcg@10",), per_query=True)
        return np.asarray([per[q]["ndcg@10"] for q in self.ids])

    def best(self, parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """``(queries, documents)``: each document's best score over every vector of ``parts``."""
        out = np.full((len(self.ids), len(self.doc_ids)), -np.inf, dtype=np.float32)
        for vectors, owner in parts:
            sims = self.vectors @ vectors.T  # (queries, windows)
            np.maximum.at(out.T, owner, sims.T)
        return out

    def score_groups(self, *parts: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
        return self.evaluate(self.best(list(parts)))


METRICS = ("ndcg@10", "recall@100")


# Window designs: name -> (planner, window tokens, overlap tokens). ``tokens``: the core's token
# windows (ogma.chunking, cut at a paragraph / sentence / word boundary when that keeps the window at
# least half full); ``sentences``: whole sentences packed up to the size (ogma.windows.sentence_windows);
# ``paragraphs``: the same, never across a blank line.
DESIGNS: dict[str, tuple[str, int, int]] = {
    "tokens-254-32": ("tokens", 254, 32),
    "tokens-128-32": ("tokens", 128, 32),
    "tokens-64-16": ("tokens", 64, 16),
    "sentences-64-16": ("sentences", 64, 16),
    "paragraphs-128-32": ("paragraphs", 128, 32),
    "tokens-96-24": ("tokens", 96, 24),
    "sentences-128-32": ("sentences", 128, 32),
    "tokens-192-32": ("tokens", 192, 32),
    "sentences-96-24": ("sentences", 96, 24),
    "tokens-128-0": ("tokens", 128, 0),
    "tokens-64-32": ("tokens", 64, 32),
    "tokens-48-16": ("tokens", 48, 16),
    "paragraphs-254-32": ("paragraphs", 254, 32),
    "paragraphs-64-16": ("paragraphs", 64, 16),
    "sentences-48-16": ("sentences", 48, 16),
    "sentences-32-8": ("sentences", 32, 8),
    "paragraphs-32-8": ("paragraphs", 32, 8),
    "paragraphs-48-16": ("paragraphs", 48, 16),
    "sentences-24-8": ("sentences", 24, 8),
    "paragraphs-24-8": ("paragraphs", 24, 8),
}
# Passage boundaries found from the text alone (TextTiling with sentence embeddings): each sentence is
# embedded, a gap between sentences scores by its depth (how far the similarity of the ``block``
# sentences either side dips below the highest similarity reached on each side before it rises
# again), and the text is cut at each gap deeper than ``mean + c * std`` of its gaps' depths (and at
# blank lines); whole sentences are then packed within a segment, as ``paragraphs``.
# Units are lines (every line break, as ``sentences`` packs) or, with ``-s``, sentences ended by
# punctuation (a wrapped line is no unit). name -> (window tokens, overlap tokens, c, block, lines)
SEGMENTS: dict[str, tuple[int, int, float, int, bool]] = {
    "segments-64-16-c0": (64, 16, 0.0, 1, True),
    "segments-64-16-c0.5": (64, 16, 0.5, 1, True),
    "segments-64-16-c1": (64, 16, 1.0, 1, True),
    "segments-64-16-b2-c0.5": (64, 16, 0.5, 2, True),
    "segments-128-32-c0.5": (128, 32, 0.5, 1, True),
    "segments-s-64-16-c0": (64, 16, 0.0, 1, False),
    "segments-s-64-16-c0.5": (64, 16, 0.5, 1, False),
    "segments-s-64-16-c1": (64, 16, 1.0, 1, False),
    "segments-s-128-32-c0.5": (128, 32, 0.5, 1, False),
    "segments-s-32-8-c0.5": (32, 8, 0.5, 1, False),
}
ORDER = [
    "tokens-254-32",
    "tokens-64-16",
    "oracle",
    "sentences-64-16",
    "tokens-128-32",
    "paragraphs-128-32",
    "tokens-96-24",
    "first_window",
]
ORDER += [d for d in DESIGNS if d not in ORDER]
ORDER += [d for d in SEGMENTS if d not in ORDER]
# Multi-granularity: a document scores by its best window over several designs.
COMBINED: dict[str, tuple[str, ...]] = {
    "first_window + sentences-64-16": ("first_window", "sentences-64-16"),
    "first_window + tokens-64-16": ("first_window", "tokens-64-16"),
    "first_window + sentences-96-24": ("first_window", "sentences-96-24"),
    "first_window + sentences-128-32": ("first_window", "sentences-128-32"),
    "tokens-254-32 + tokens-64-16": ("tokens-254-32", "tokens-64-16"),
    "tokens-254-32 + tokens-96-24": ("tokens-254-32", "tokens-96-24"),
    "tokens-254-32 + tokens-128-32": ("tokens-254-32", "tokens-128-32"),
    "tokens-128-32 + tokens-64-16": ("tokens-128-32", "tokens-64-16"),
    "tokens-254-32 + sentences-64-16": ("tokens-254-32", "sentences-64-16"),
    "tokens-254-32 + tokens-128-32 + tokens-64-16": ("tokens-254-32", "tokens-128-32", "tokens-64-16"),
    "first_window + paragraphs-64-16": ("first_window", "paragraphs-64-16"),
    "first_window + paragraphs-128-32": ("first_window", "paragraphs-128-32"),
    "first_window + paragraphs-254-32": ("first_window", "paragraphs-254-32"),
    "first_window + sentences-48-16": ("first_window", "sentences-48-16"),
    "first_window + sentences-32-8": ("first_window", "sentences-32-8"),
    "first_window + sentences-128-32 + sentences-64-16": ("first_window", "sentences-128-32", "sentences-64-16"),
    "first_window + sentences-64-16 + sentences-32-8": ("first_window", "sentences-64-16", "sentences-32-8"),
    "first_window + paragraphs-32-8": ("first_window", "paragraphs-32-8"),
    "first_window + paragraphs-48-16": ("first_window", "paragraphs-48-16"),
    "first_window + paragraphs-24-8": ("first_window", "paragraphs-24-8"),
    "first_window + sentences-24-8": ("first_window", "sentences-24-8"),
    "first_window + paragraphs-64-16 + paragraphs-32-8": ("first_window", "paragraphs-64-16", "paragraphs-32-8"),
}
for _name in SEGMENTS:
    COMBINED[f"first_window + {_name}"] = ("first_window", _name)
# Late chunking: name -> (tokens of text per span after the first, None: the model's window; tokens
# consecutive spans share, at least the largest window, 64, so that every window fits whole in some
# span). The weights of the blends with the plain window vectors:
LATE: dict[str, tuple[int | None, int]] = {
    "late-o64": (None, 64),
    "late-o128": (None, 128),
    "late-w128-o64": (128, 64),
}
LATE_BLENDS = (0.1, 0.25, 0.5, 0.75)
ORDER += list(LATE)


def sentence_units(text: str, spans: list[tuple[int, int]], *, lines: bool = True) -> list[tuple[int, int]]:
    """``(first token, end token)`` of each sentence: ends at a sentence end or a blank line, and with
    ``lines`` at every line break too (wrapped text then gives one unit per line)."""
    from ogma.chunking import _CLOSERS, _PARAGRAPH, _SENTENCE, _SENTENCE_END, _boundary

    def cut(j: int) -> bool:
        kind = _boundary(text, spans[j - 1][1], spans[j][0])
        if lines or kind >= _PARAGRAPH or kind < _SENTENCE:
            return kind >= _SENTENCE
        last = spans[j - 1][1] - 1
        while last > 0 and text[last] in _CLOSERS:
            last -= 1
        return text[last] in _SENTENCE_END

    starts = [0] + [j for j in range(1, len(spans)) if cut(j)]
    return list(zip(starts, [*starts[1:], len(spans)], strict=True))


def depth_cuts(vectors: np.ndarray, *, c: float, block: int) -> list[int]:
    """Gaps (index ``g``: between sentence ``g - 1`` and ``g``) whose TextTiling depth exceeds ``mean + c·std``."""
    n = len(vectors)
    if n < 3:
        return []
    sims = np.empty(n - 1, dtype=np.float64)
    for g in range(1, n):
        left = vectors[max(0, g - block) : g].sum(axis=0)
        right = vectors[g : g + block].sum(axis=0)
        sims[g - 1] = float(left @ right / (np.linalg.norm(left) * np.linalg.norm(right) + 1e-12))
    depth = np.zeros_like(sims)
    for k in range(len(sims)):
        lp = k
        while lp > 0 and sims[lp - 1] >= sims[lp]:
            lp -= 1
        rp = k
        while rp < len(sims) - 1 and sims[rp + 1] >= sims[rp]:
            rp += 1
        depth[k] = (sims[lp] - sims[k]) + (sims[rp] - sims[k])
    threshold = depth.mean() + c * depth.std()
    return [k + 1 for k in range(len(sims)) if depth[k] > threshold and depth[k] > 0]


def segment_windows(
    encoder: Any, cache: VectorCache, texts: list[str], design: str
) -> tuple[list[str], list[int], int]:
    """``(window texts, owners, sentence tokens embedded)`` of a ``SEGMENTS`` design."""
    from ogma.chunking import _plain_tokenizer, _token_spans
    from ogma.windows import sentence_windows

    size, overlap, c, block, lines = SEGMENTS[design]
    tokenizer = _plain_tokenizer(encoder.tokenizer.tokenizer)
    out: list[str] = []
    owners: list[int] = []
    extra = 0
    docs = []  # (text, spans, units) of each long text; all their sentences embedded in one call
    for text in texts:
        spans = _token_spans(text, tokenizer)
        units = sentence_units(text, spans, lines=lines) if len(spans) > encoder.max_tokens else []
        docs.append((text, spans, units))
    sentences = [text[spans[i][0] : spans[j - 1][1]] for text, spans, units in docs for i, j in units]
    vectors = cache.embed(sentences)
    at_sentence = 0
    for index, (text, spans, units) in enumerate(docs):
        if not units:  # fits: its own window, as every design
            out.append(text)
            owners.append(index)
            continue
        extra += sum(j - i for i, j in units)
        cuts = depth_cuts(vectors[at_sentence : at_sentence + len(units)], c=c, block=block)
        at_sentence += len(units)
        # mark each cut as a paragraph break, then pack whole sentences within paragraphs
        pieces, last = [], 0
        for g in cuts:
            at = spans[units[g][0]][0]
            pieces.append(text[last:at].rstrip())
            last = at
        pieces.append(text[last:])
        marked = "\n\n".join(pieces)
        mspans = _token_spans(marked, tokenizer)
        ranges = sentence_windows(marked, mspans, size=size, overlap=overlap, paragraphs=True)
        windows = [marked[mspans[i][0] : mspans[j - 1][1]] for i, j in ranges] or [text]
        out.extend(windows)
        owners.extend([index] * len(windows))
    return out, owners, extra


def design_windows(encoder: Any, texts: list[str], design: str) -> tuple[list[str], list[int]]:
    """``(window texts, owner of each)`` of a design; a text within the design's size is one window."""
    from ogma.chunking import _plain_tokenizer, _token_spans
    from ogma.windows import plan_windows, sentence_windows

    planner, size, overlap = DESIGNS[design]
    tokenizer = _plain_tokenizer(encoder.tokenizer.tokenizer)
    if planner == "tokens":
        plan = plan_windows(texts, tokenizer, max_tokens=size, overlap=overlap)
        return plan.texts, plan.owners
    out: list[str] = []
    owners: list[int] = []
    for index, text in enumerate(texts):
        spans = _token_spans(text, tokenizer)
        ranges = sentence_windows(text, spans, size=size, overlap=overlap, paragraphs=planner == "paragraphs")
        pieces = [text[spans[i][0] : spans[j - 1][1]] for i, j in ranges] or [text]
        out.extend(pieces)
        owners.extend([index] * len(pieces))
    return out, owners


class VectorCache:
    """Embedded texts, kept under ``benchmarks/.cache/long-documents`` so that reruns and designs sharing a
    window embed it once. The key is the text with its whitespace collapsed: the model's tokenizer
    (BERT WordPiece) drops whitespace, so such texts give the same tokens and vector."""

    def __init__(self, encoder: Any, folder: Path | None) -> None:
        self.encoder, self.folder = encoder, folder
        self.vectors: dict[str, np.ndarray] = {}
        self.seconds, self.tokens = 0.0, 0  # spent embedding in this run, and the tokens embedded
        self.late: dict[str, LateChunker] = {}  # late chunking, by design
        for path in sorted(folder.glob("*.npz")) if folder and folder.is_dir() else ():
            data = np.load(path)
            self.vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1((MODEL + "\x00" + " ".join(text.split())).encode()).hexdigest()

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.vectors))
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k in set(missing)}
        order = list(todo)
        for start in range(0, len(order), 1024):  # saved as it goes: an interrupted run loses little
            batch = order[start : start + 1024]
            t0 = time.perf_counter()
            vectors = self.encoder.encode_documents([todo[k] for k in batch], long_text="truncate")
            self.seconds += time.perf_counter() - t0
            self.tokens += sum(min(len(self.encoder.text_token_ids(todo[k])), self.encoder.max_tokens) for k in batch)
            self.vectors.update(zip(batch, vectors, strict=True))
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                name = hashlib.sha1("".join(batch).encode()).hexdigest()[:16]
                np.savez(self.folder / f"{name}.npz", keys=np.asarray(batch), vectors=vectors)
        return np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, self.encoder.dim), np.float32)


class LateChunker:
    """Contextual window vectors (late chunking) of the store's windows, cached like :class:`VectorCache`.

    A long document is tokenised once and read in spans: the first span is its first window (so its
    pooled output is the plain first-window vector: the same model input), each next one starts
    ``overlap`` tokens before the previous one ends and holds up to ``width`` tokens of text
    (default and at most :attr:`max_tokens`; the last one ends at the document's end). The model's
    token states (``last_hidden_state``) of every span are kept; a window's vector is the normalised
    mean of its tokens' states within the span where it has the most context on its less-read side.
    Vectors are cached per (document, first window, token range) under
    ``benchmarks/.cache/long-documents-late``; the token states of the current corpus are kept in
    memory (the two joinings tokenise alike, so they share them unless their first windows differ).
    """

    def __init__(self, encoder: Any, width: int | None, overlap: int, folder: Path | None) -> None:
        from ogma.chunking import _plain_tokenizer

        self.encoder, self.overlap = encoder, overlap
        self.width = encoder.max_tokens if width is None else min(width, encoder.max_tokens)
        name = f"o{overlap}" if width is None else f"w{self.width}-o{overlap}"
        self.folder = folder / name if folder else None
        self.plain = _plain_tokenizer(encoder.tokenizer.tokenizer)
        base = encoder.tokenizer.token_ids([""], "document")[0]
        if len(base) != 2:  # [CLS] text [SEP]: the layout this helper assumes (all-MiniLM-L6-v2)
            raise ValueError(f"expected a [CLS] … [SEP] model input, got {base} for an empty text")
        self.head, self.tail = base[:1], base[1:]
        self.states: dict[str, list[tuple[int, int, np.ndarray]]] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self.seconds, self.tokens = 0.0, 0
        for path in sorted(self.folder.glob("*.npz")) if self.folder and self.folder.is_dir() else ():
            data = np.load(path)
            self.vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def spans(self, n: int, first: int) -> list[tuple[int, int]]:
        """``(start, end)`` token spans over ``n`` tokens: the first window ``(0, first)``, then overlapping."""
        out = [(0, first)]
        while out[-1][1] < n:
            start = out[-1][1] - self.overlap
            start = max(0, min(start, n - self.width))  # the last span is a full one ending at the end
            out.append((start, min(n, start + self.width)))
        return out

    def document_windows(self, text: str, windows: list[str]) -> tuple[list[tuple[int, int]], list[int]]:
        """The token ranges of one long document's store windows (its plan texts, in order) and its token ids.

        The ranges are planned again exactly as ``ogma.windows.plan_windows`` plans them, and checked
        against the plan's texts."""
        from ogma.windows import STORE_FINE_WINDOWS, sentence_windows

        encoding = self.plain.encode(text, add_special_tokens=False)
        kept = [(i, (int(a), int(b))) for i, (a, b) in zip(encoding.ids, encoding.offsets, strict=True) if b > a]
        ids = [i for i, _ in kept]
        spans = [o for _, o in kept]
        ends = {b: k + 1 for k, (_, b) in enumerate(spans)}
        first = ends[spans[0][0] + len(windows[0])]  # the first window is the text's first tokens
        ranges = [(0, first)]
        seen = {windows[0]}
        for fine in STORE_FINE_WINDOWS:
            size = min(fine.overlap, fine.tokens // 2)
            cuts = sentence_windows(
                text, spans, size=fine.tokens, overlap=size, paragraphs=fine.boundaries == "paragraphs"
            )
            planned = [(text[spans[i][0] : spans[j - 1][1]], (i, j)) for i, j in cuts]
            fresh = [(w, r) for w, r in planned if w not in seen]
            seen.update(w for w, _ in fresh)
            ranges += [r for _, r in fresh]
        got = [text[spans[i][0] : spans[j - 1][1]] for i, j in ranges]
        if got != windows:
            raise AssertionError("the late-chunking ranges do not reproduce the store's windows")
        return ranges, ids

    def embed(self, texts: list[str], plan: Any, cache: VectorCache) -> tuple[np.ndarray, int]:
        """``(vectors, text tokens run through the model)`` for every window of ``plan`` (a store plan).

        A document that fits is its own window (the plain vector, from ``cache``)."""
        owners = np.asarray(plan.owners)
        out = np.zeros((len(plan.texts), self.encoder.dim), dtype=np.float32)
        tokens = 0
        todo: list[tuple[str, list[int], list[tuple[int, int]], list[int], list[tuple[int, int]]]] = []
        for doc, text in enumerate(texts):
            rows = np.flatnonzero(owners == doc).tolist()
            if len(rows) == 1:
                out[rows] = cache.embed([plan.texts[rows[0]]])
                tokens += min(len(self.encoder.text_token_ids(text)), self.width)
                continue
            ranges, ids = self.document_windows(text, [plan.texts[r] for r in rows])
            spans = self.spans(len(ids), ranges[0][1])
            tokens += sum(e - s for s, e in spans)
            doc_key = hashlib.sha1(
                (MODEL + "\x00" + " ".join(text.split()) + f"\x00{ranges[0][1]}").encode()
            ).hexdigest()
            keys = [f"{doc_key}:{i}:{j}" for i, j in ranges]
            if all(k in self.vectors for k in keys):
                out[rows] = np.stack([self.vectors[k] for k in keys])
            else:
                todo.append((doc_key, rows, ranges, ids, spans))
        self._run(todo)
        fresh: dict[str, np.ndarray] = {}
        for doc_key, rows, ranges, _, _ in todo:
            states = self.states[doc_key]
            for row, (i, j) in zip(rows, ranges, strict=True):
                if (i, j) == ranges[0]:  # the first window: the first span, pooled as the plain vector
                    vector = states[0][2].astype(np.float32).mean(axis=0)
                else:  # the span with the most context around the window
                    s, _, state = max(
                        (x for x in states if x[0] <= i and j <= x[1]), key=lambda x: min(i - x[0], x[1] - j)
                    )
                    vector = state[1 + i - s : 1 + j - s].astype(np.float32).mean(axis=0)
                vector = vector / np.linalg.norm(vector)
                out[row] = vector
                fresh[f"{doc_key}:{i}:{j}"] = vector
        if fresh and self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha1("".join(fresh).encode()).hexdigest()[:16]
            np.savez(self.folder / f"{name}.npz", keys=np.asarray(list(fresh)), vectors=np.stack(list(fresh.values())))
        self.vectors.update(fresh)
        return out, tokens

    def _run(self, todo: list[Any], batch: int = 16) -> None:
        """Token states of every span of the documents in ``todo`` not yet in memory (float16, specials kept)."""
        rows = []  # (doc key, start, end, token ids)
        for doc_key, _, _, ids, spans in todo:
            if doc_key not in self.states:
                self.states[doc_key] = []
                rows += [(doc_key, s, e, self.head + ids[s:e] + self.tail) for s, e in spans]
        t0 = time.perf_counter()
        for at in range(0, len(rows), batch):
            part = rows[at : at + batch]
            padded = self.encoder.tokenizer.pad([r[3] for r in part])
            states = self.encoder._backend.run(
                padded.input_ids, padded.attention_mask, token_type_ids=padded.token_type_ids
            )
            for (doc_key, s, e, row), state in zip(part, states, strict=True):
                self.states[doc_key].append((s, e, state[: len(row)].astype(np.float16)))
            self.tokens += sum(r[2] - r[1] for r in part)
        self.seconds += time.perf_counter() - t0


class Embedded:
    """The window vectors of one design (from the :class:`VectorCache`), their owners and token count."""

    def __init__(self, cache: VectorCache, texts: list[str], owners: list[int]) -> None:
        self.vectors = cache.embed(texts)
        self.texts, self.owners = texts, np.asarray(owners)
        encodings = cache.encoder.tokenizer.tokenizer.encode_batch(texts, add_special_tokens=False)
        self.tokens = sum(len(e.ids) for e in encodings)


class Grouped:
    """One long-document corpus (passages joined one way) with its query sets and results."""

    def __init__(
        self,
        encoder: Any,
        passages: dict[str, str],
        query_sets: dict[str, tuple[dict[str, str], dict[str, dict[str, int]]]],
        *,
        group: int,
        seed: int,
        joiner: str,
    ) -> None:
        self.encoder, self.passages, self.joiner = encoder, passages, joiner
        self.members, docs = group_documents(list(passages), passages, group=group, seed=seed, joiner=joiner)
        self.doc_ids = list(docs)
        self.doc_texts = [docs[d] for d in self.doc_ids]
        self.sets = {
            name: QuerySet(encoder, queries, document_qrels(qrels, self.members), self.doc_ids)
            for name, (queries, qrels) in query_sets.items()
        }
        self.results: dict[str, dict[str, Any]] = {name: {"queries": len(qs.ids)} for name, qs in self.sets.items()}
        self.corpus: dict[str, Any] = {
            "documents": len(self.doc_ids),
            "passages": len(passages),
            "group": group,
            "joiner": joiner,
            "tokens_per_document": token_stats(encoder, self.doc_texts),
            "window_tokens": encoder.max_tokens,
            "designs": {},
        }
        self.embedded: dict[str, Embedded] = {}

    def record(self, key: str, make: Any) -> None:
        for name, qs in self.sets.items():
            self.results[name][key] = make(qs)

    def measure(self, design: str, cache: VectorCache) -> None:
        """Embed (or read from the cache) one design's windows and score it on every query set."""
        n = len(self.doc_ids)
        if design == "first_window":  # the text as one model input, cut at the window
            first = self.embedded[design] = Embedded(cache, self.doc_texts, list(range(n)))
            self.corpus["designs"][design] = {"windows_per_document": 1.0}
            self.record(design, lambda qs: qs.score(first.vectors))
        elif design == "oracle":  # each passage alone, the document by its best passage
            pids = [p for d in self.doc_ids for p in self.members[d]]
            owners = [i for i, d in enumerate(self.doc_ids) for _ in self.members[d]]
            oracle = Embedded(cache, [self.passages[p] for p in pids], owners)
            self.corpus["designs"][design] = {
                "windows_per_document": round(len(pids) / n, 2),
                "tokens_per_window": round(oracle.tokens / len(pids), 1),
            }
            self.record(design, lambda qs: qs.score_groups((oracle.vectors, oracle.owners)))
        elif design in LATE:
            self.measure_late(design, cache)
        else:
            extra = 0
            if design in SEGMENTS:
                texts, owners, extra = segment_windows(self.encoder, cache, self.doc_texts, design)
            else:
                texts, owners = design_windows(self.encoder, self.doc_texts, design)
            e = self.embedded[design] = Embedded(cache, texts, owners)
            sums = np.zeros((n, e.vectors.shape[1]), dtype=np.float32)
            np.add.at(sums, e.owners, e.vectors)
            mean = sums / np.linalg.norm(sums, axis=1, keepdims=True)
            self.corpus["designs"][design] = {
                "windows": len(texts),
                "windows_per_document": round(len(texts) / n, 2),
                "tokens_per_window": round(e.tokens / len(texts), 1),
                "tokens_per_document": round(e.tokens / n, 1),
            }
            if design in SEGMENTS:  # the sentences embedded to find the boundaries
                self.corpus["designs"][design]["segmentation_tokens_per_document"] = round(extra / n, 1)
            self.record(
                design,
                lambda qs, e=e, m=mean: {"best_window": qs.score_groups((e.vectors, e.owners)), "mean": qs.score(m)},
            )
        print(self.joiner, design, {k: r.get(design) for k, r in self.results.items()}, flush=True)
        for name, parts in COMBINED.items():
            if name not in self.corpus["designs"] and all(p in self.embedded for p in parts):
                self.corpus["designs"][name] = {
                    "windows_per_document": round(sum(len(self.embedded[p].texts) for p in parts) / n, 2),
                    "tokens_per_document": round(sum(self.embedded[p].tokens for p in parts) / n, 1),
                }
                pairs = [(self.embedded[p].vectors, self.embedded[p].owners) for p in parts]
                sums = np.zeros((n, pairs[0][0].shape[1]), dtype=np.float32)
                for vectors, owners in pairs:
                    np.add.at(sums, owners, vectors)
                mean = sums / np.linalg.norm(sums, axis=1, keepdims=True)
                self.record(
                    name, lambda qs, ps=pairs, m=mean: {"best_window": qs.score_groups(*ps), "mean": qs.score(m)}
                )

    def measure_late(self, design: str, cache: VectorCache) -> None:
        """Late chunking: the store's windows with contextual vectors (and blends), against the plain ones."""
        from ogma.windows import STORE_FINE_WINDOWS

        width, overlap = LATE[design]
        if design not in cache.late:
            folder = cache.folder and cache.folder.parent / LATE_CACHE
            cache.late[design] = LateChunker(self.encoder, width, overlap, folder)
        chunker = cache.late[design]
        n = len(self.doc_ids)
        plan = self.encoder.window_plan(self.doc_texts, task="document", fine=STORE_FINE_WINDOWS)
        plain = Embedded(cache, plan.texts, plan.owners)
        late, span_tokens = chunker.embed(self.doc_texts, plan, cache)
        first = np.r_[True, np.diff(plain.owners) != 0]  # each document's first window
        fine_tokens = plain.tokens - sum(
            len(e.ids)
            for e in self.encoder.tokenizer.tokenizer.encode_batch(
                [t for t, f in zip(plan.texts, first, strict=True) if f], add_special_tokens=False
            )
        )
        agree = float(np.mean(np.sum(late[first] * plain.vectors[first], axis=1)))
        variants = {design: (late, span_tokens)}
        for w in LATE_BLENDS:
            mixed = w * late + (1 - w) * plain.vectors
            mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
            variants[f"{design} + plain {w:g}"] = (mixed, span_tokens + fine_tokens)
        self.corpus["designs"].setdefault(
            "store windows",
            {"windows_per_document": round(len(plan.texts) / n, 2), "tokens_per_document": round(plain.tokens / n, 1)},
        )
        self.corpus["designs"]["store windows"]["within_document_cosine"] = within_cosine(
            plain.vectors, plain.owners, first
        )
        for name, (vectors, tokens) in variants.items():
            self.corpus["designs"][name] = {
                "windows_per_document": round(len(plan.texts) / n, 2),
                "tokens_per_document": round(tokens / n, 1),
                "first_window_cosine_to_plain": round(agree, 5),
                "within_document_cosine": within_cosine(vectors, plain.owners, first),
            }
        for set_name, qs in self.sets.items():
            base_scores = qs.best([(plain.vectors, plain.owners)])
            base = qs.per_query(base_scores)
            self.results[set_name].setdefault("store windows", {"best_window": qs.evaluate(base_scores)})
            self.results[set_name]["store windows"]["margin"] = margin(qs, base_scores)
            for name, (vectors, _) in variants.items():
                scores = qs.best([(vectors, plain.owners)])
                d = qs.per_query(scores) - base
                self.results[set_name][name] = {
                    "best_window": qs.evaluate(scores),
                    "ndcg@10_minus_store_windows": [
                        round(float(d.mean()), 4),
                        round(float(d.std(ddof=1) / np.sqrt(len(d))), 4) if len(d) > 1 else 0.0,
                    ],
                    "margin": margin(qs, scores),
                }

    def measure_store(self, cache: VectorCache) -> None:
        """``Store.add`` + ``Store.search`` with the store's defaults (its windows embedded through the cache)."""
        from ogma.windows import STORE_FINE_WINDOWS

        # the windows TextEncoder.encode_windows makes by default, which the store keeps
        plan = self.encoder.window_plan(self.doc_texts, task="document", fine=STORE_FINE_WINDOWS)
        vectors = Embedded(cache, plan.texts, plan.owners)
        n = len(self.doc_ids)
        self.corpus["designs"]["store windows"] = {
            "windows_per_document": round(len(plan.texts) / n, 2),
            "tokens_per_document": round(vectors.tokens / n, 1),
        }
        self.record("store windows", lambda qs: {"best_window": qs.score_groups((vectors.vectors, vectors.owners))})
        memo = _WindowMemo(self.encoder, self.doc_texts, vectors.vectors, plan.owners)
        self.corpus["store"] = measure_store(memo, self.doc_ids, self.doc_texts, self.sets, self.results)

    def time_windows(self, count: int, rounds: int = 3) -> dict[str, Any]:
        """Seconds to embed the first ``count`` documents: full-width windows vs the store's windows.

        Interleaved rounds, medians; no cache (the seconds are the encoder's)."""
        texts = self.doc_texts[:count]
        times: dict[str, list[float]] = {"full-width windows (fine=None)": [], "store windows (default)": []}
        for _ in range(rounds):
            for name, fine in zip(times, (None, "default"), strict=True):
                t0 = time.perf_counter()
                if fine is None:
                    self.encoder.encode_windows(texts, fine=None)
                else:
                    self.encoder.encode_windows(texts)
                times[name].append(time.perf_counter() - t0)
        return {"documents": count, "rounds": rounds} | {k: round(float(np.median(v)), 2) for k, v in times.items()}

    def report(self) -> dict[str, Any]:
        return {"corpus": self.corpus, "query_sets": self.results}


def within_cosine(vectors: np.ndarray, owners: np.ndarray, first: np.ndarray) -> float:
    """Mean cosine between two fine windows (not the first) of the same long document, over documents."""
    means = []
    for doc in np.unique(owners):
        block = vectors[(owners == doc) & ~first]
        if len(block) > 1:
            gram = block @ block.T
            means.append((gram.sum() - np.trace(gram)) / (len(block) * (len(block) - 1)))
    return round(float(np.mean(means)), 4) if means else float("nan")


def margin(qs: QuerySet, scores: np.ndarray) -> dict[str, float]:
    """Mean over queries of the best relevant document's score and of the top ten non-relevant ones'."""
    relevant, others = [], []
    for row, qid in zip(scores, qs.ids, strict=True):
        good = np.asarray([qs.doc_ids.index(d) for d, g in qs.qrels[qid].items() if g > 0 and d in qs.doc_ids])
        mask = np.ones(len(row), dtype=bool)
        mask[good] = False
        relevant.append(float(row[good].max()))
        others.append(float(np.sort(row[mask])[-10:].mean()))
    return {
        "relevant_best": round(float(np.mean(relevant)), 4),
        "top10_non_relevant": round(float(np.mean(others)), 4),
    }


class _WindowMemo:
    """The encoder, with the windows of the corpus already embedded (the store adds them unchanged)."""

    def __init__(self, encoder: Any, texts: list[str], vectors: np.ndarray, owners: list[int]) -> None:
        self._encoder, self._texts, self._vectors, self._owners = encoder, texts, vectors, owners
        self.model_id, self.dim, self.matryoshka_dims = encoder.model_id, encoder.dim, encoder.matryoshka_dims
        self.task_scheme_name = encoder.task_scheme_name

    def encode_windows(self, texts: list[str]) -> tuple[np.ndarray, list[int]]:
        if list(texts) == self._texts:
            return self._vectors, self._owners
        return self._encoder.encode_windows(texts)

    def encode_documents(self, texts: list[str], **options: Any) -> np.ndarray:
        return self._encoder.encode_documents(texts, **options)

    def encode_queries(self, texts: list[str], **options: Any) -> np.ndarray:
        return self._encoder.encode_queries(texts, **options)


def measure_store(
    encoder: Any, doc_ids: list[str], doc_texts: list[str], sets: dict[str, QuerySet], results: dict[str, Any]
) -> dict[str, Any]:
    """``Store.add`` + ``Store.search`` with the store's defaults (dense and hybrid), per query set."""
    import sqlite3

    from ogma import Store
    from ogma.evaluate.metrics import evaluate_run

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.db"
        store = Store(path, encoder=encoder)
        t0 = time.perf_counter()
        store.add(doc_texts, ids=doc_ids)
        out["add_seconds"] = round(time.perf_counter() - t0, 1)
        out["documents_with_vector"] = store.count_vectors()
        with sqlite3.connect(path) as conn:
            out["extra_windows"] = int(conn.execute("SELECT count(*) FROM ogma_windows").fetchone()[0])
        for name, qs in sets.items():
            for mode in ("dense", "hybrid"):
                run = {}
                t0 = time.perf_counter()
                for qid in qs.ids:
                    hits = store.search(qs.texts[qid], k=100, mode=mode)
                    run[qid] = {h.id: float(h.score) for h in hits}
                ms = (time.perf_counter() - t0) * 1000 / max(len(qs.ids), 1)
                scores = evaluate_run(run, qs.qrels, metrics=METRICS)
                results[name][f"store_{mode}"] = {m: round(v, 4) for m, v in scores.items()} | {
                    "ms_per_query": round(ms, 2),
                    "hits_per_query_unique": all(len({h for h in r}) == len(r) for r in run.values()),
                }
        store.close()
    return out


Corpus = tuple[str, dict[str, str], dict[str, tuple[dict[str, str], dict[str, dict[str, int]]]]]


def load_sets(args: argparse.Namespace) -> list[Corpus]:
    """``(corpus name, passages, {query set name: (queries, qrels)})``; a techdocs source's -nl/-ids share a corpus."""
    from ogma.evaluate.beir import load_beir

    sets: list[Corpus] = []
    if args.data:
        data = load_beir(args.data)
        name = Path(args.data).name
        sets.append((name, {d: data.document_text(d) for d in data.corpus}, {name: (data.queries, data.qrels)}))
    for source in args.sources.split(",") if args.techdocs else ():
        queries: dict[str, tuple[dict[str, str], dict[str, dict[str, int]]]] = {}
        passages: dict[str, str] = {}
        for sub in (f"{source}-nl", f"{source}-ids"):
            folder = Path(args.techdocs) / sub
            if folder.is_dir():
                data = load_beir(folder)
                passages = passages or {d: data.document_text(d) for d in data.corpus}
                queries[sub] = (data.queries, data.qrels)
        if queries:
            sets.append((f"techdocs-{source}", passages, queries))
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="a BEIR folder of short passages (nano-dbpedia)")
    parser.add_argument("--techdocs", help="output folder of build_techdocs.py (python-nl/-ids, packages-nl/-ids)")
    parser.add_argument("--sources", default="python,packages", help="techdocs corpora to use")
    parser.add_argument("--group", type=int, default=8, help="passages per long document")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--joiners", default="blank,space", help="how passages are joined: blank, space")
    parser.add_argument("--designs", default=",".join(ORDER), help="window designs in order, comma-separated")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--store", action="store_true", help="also measure Store.add + search end to end")
    parser.add_argument("--time-documents", type=int, default=0, help="time embedding this many documents")
    parser.add_argument("--no-cache", action="store_true", help="embed again instead of reading benchmarks/.cache")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "long-documents.json"))
    args = parser.parse_args()

    from ogma import TextEncoder

    encoder = TextEncoder(MODEL, threads=args.threads, show_progress=False)
    load_before = os.getloadavg()
    cache = VectorCache(encoder, None if args.no_cache else CACHE)
    results: dict[str, Any] = {}
    designs = [d for d in args.designs.split(",") if d]
    for name, passages, query_sets in load_sets(args):
        grouped = {
            joiner: Grouped(encoder, passages, query_sets, group=args.group, seed=args.seed, joiner=joiner)
            for joiner in args.joiners.split(",")
        }
        for design in designs:  # every joining of one design before the next design
            for joiner, corpus in grouped.items():
                corpus.measure(design, cache)
                results[f"{name} ({joiner})"] = corpus.report()
                Path(args.out).write_text(json.dumps({"partial": True, "results": results}, indent=2) + "\n")
        for chunker in cache.late.values():  # the token states of this corpus' documents
            chunker.states.clear()
        for joiner, corpus in grouped.items():
            if args.store:
                corpus.measure_store(cache)
            if args.time_documents:
                corpus.corpus["encode_seconds"] = corpus.time_windows(args.time_documents)
            results[f"{name} ({joiner})"] = corpus.report()
    report = {
        "benchmark": "long documents: window designs (size, overlap, boundaries, granularity) vs best passage",
        "model": MODEL,
        "metric_note": "nDCG@10 with graded gains (qrels grade), trec_eval semantics",
        "results": results,
        "environment": {
            "cpu_flags": cpu_flags(),
            "threads": args.threads,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "embedded_this_run": {"texts_tokens": cache.tokens, "seconds": round(cache.seconds, 1)},
            "late_chunking_this_run": {
                name: {"span_tokens": c.tokens, "seconds": round(c.seconds, 1)} for name, c in cache.late.items()
            },
            "python": platform.python_version(),
        },
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
