"""A learned-sparse lexical side: SPLADE-expanded documents against FTS5 BM25, alone and fused with dense.

The SPLADE model is the 2-layer, 128-wide ``splade-tiny`` of ``real_models.py`` (a
``BertForMaskedLM`` checkpoint), converted by ``ogma.convert.convert_checkpoint`` into a graph
whose output ``sparse_weights`` is ``max_t log(1 + relu(logits))`` over the unmasked tokens.

Per BEIR set (documents as ``title + " " + text``):

* ``bm25``: SQLite FTS5 (``porter unicode61 remove_diacritics 2``), queries built by
  :func:`ogma.store.sqlite.fts.build_fts_query`, ``-bm25()`` top 100 (as the store does);
* ``splade``: documents and queries encoded by the model (a query is expanded too); score
  ``sum_t q_t * d_t``; stored in SQLite as ``postings(term, doc, weight)`` (a ``WITHOUT ROWID``
  table keyed by ``(term, doc)``) and scored in SQL, checked against a scipy sparse product;
* ``splade-doc``: the same documents, the query as its bag of word pieces (weight 1 each,
  no query encoding);
* ``dense``: all-MiniLM-L6-v2 through :class:`ogma.TextEncoder` (first 256 tokens), exact cosine top 100;
* fused: every lexical side with dense through :func:`ogma.fusion.fuse`: Ogma's default, RRF
  and convex combinations (``alpha`` on dense).

Reports nDCG@10 and recall@100 (trec_eval, linear gain), index size (a file holding only the
index: contentless FTS5 vs the postings table), encode time, query time (median ms, SQL and
scipy), CPU flags and the load average. The decision is by the worst case over the sets.

Encodings are cached under ``benchmarks/.cache/`` (git-ignored) with their encode time.

Usage:
    python real_models.py splade-tiny
    python benchmarks/build_techdocs.py --out /tmp/techdocs
    python benchmarks/bench_splade.py --data path/to/nano-dbpedia /tmp/techdocs/python-nl \\
        /tmp/techdocs/python-ids /tmp/techdocs/packages-nl /tmp/techdocs/packages-ids \\
        --out benchmarks/results/splade.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import apsw
import numpy as np
import pytrec_eval
from _common import cpu_flags
from scipy import sparse
from tune_hybrid import dense_run, doc_text, lexical_run, load_beir

from ogma.fusion import Ranking, fuse
from ogma.store.sqlite.fts import build_fts_query

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
TOP = 100
DENSE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
FUSIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "rrf": {"method": "rrf"},
    **{f"convex a={a}": {"method": "convex", "alpha": a} for a in (0.3, 0.5, 0.7, 0.85)},
}

Runs = dict[str, Ranking]


# --- SPLADE encoding ------------------------------------------------------------------------------------------------


def splade_folder(checkpoint: Path) -> Path:
    """The converted SPLADE folder (converted once into the cache)."""
    from ogma.convert import convert_checkpoint

    digest = hashlib.sha1((checkpoint / "model.safetensors").read_bytes()).hexdigest()[:12]
    out = CACHE / f"splade-onnx.{digest}"
    if not (out / "model.onnx").is_file():
        convert_checkpoint(checkpoint, out, overwrite=True)
    return out


class Splade:
    """Length-sorted batches through the converted graph; rows come back as CSR (weights > 0)."""

    def __init__(self, folder: Path, max_length: int, batch: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # the file pads to 512: pad per batch instead
        self.tokenizer.enable_truncation(max_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("OGMA_BENCH_THREADS", "2"))
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.vocab = self.tokenizer.get_vocab_size()
        self.batch = batch
        self.tokens = 0

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str]) -> sparse.csr_matrix:
        encoded = self.token_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        rows: list[sparse.csr_matrix] = [sparse.csr_matrix((0, self.vocab), dtype=np.float32)] * len(texts)
        for start in range(0, len(order), self.batch):
            chunk = order[start : start + self.batch]
            width = max(len(encoded[i]) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(chunk):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = 1
            self.tokens += int(mask.sum())
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            weights = sparse.csr_matrix(self.session.run(None, feed)[0])
            for row, i in enumerate(chunk):
                rows[i] = weights[row]
        return sparse.vstack(rows, format="csr").astype(np.float32)


def _key(*parts: str) -> str:
    return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()[:12]


def cached_splade(
    kind: str, texts: list[str], model: Callable[[], Splade], tag: str
) -> tuple[sparse.csr_matrix, float]:
    """SPLADE rows for ``texts`` and the seconds their encoding took (cached with the matrix)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"splade.{kind}.{_key(tag, *texts)}.npz"
    meta = path.with_suffix(".json")
    if not path.exists():
        encoder = model()
        start = time.perf_counter()
        matrix = encoder.encode(texts)
        seconds = time.perf_counter() - start
        sparse.save_npz(path, matrix)
        meta.write_text(json.dumps({"seconds": seconds, "load": os.getloadavg()[0]}))
    return sparse.load_npz(path).tocsr(), float(json.loads(meta.read_text())["seconds"])


def cached_dense(kind: str, texts: list[str], encoders: dict[str, Any]) -> tuple[np.ndarray, float]:
    """all-MiniLM-L6-v2 vectors through Ogma's encoder, and the seconds they took."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"ogma-minilm.{kind}.{_key(DENSE_MODEL, *texts)}.npy"
    meta = path.with_suffix(".json")
    if not path.exists():
        if "dense" not in encoders:
            from ogma import TextEncoder

            encoders["dense"] = TextEncoder(DENSE_MODEL)
        start = time.perf_counter()
        encode = encoders["dense"].encode_documents if kind == "corpus" else encoders["dense"].encode_queries
        vectors = np.asarray(encode(texts, long_text="truncate"), dtype=np.float32)  # as SPLADE: the first window
        seconds = time.perf_counter() - start
        np.save(path, vectors)
        meta.write_text(json.dumps({"seconds": seconds, "load": os.getloadavg()[0]}))
    return np.load(path), float(json.loads(meta.read_text())["seconds"])


# --- retrieval ------------------------------------------------------------------------------------------------------


def sparse_run(docs: sparse.csr_matrix, queries: sparse.csr_matrix, doc_ids: list[str], qids: list[str]) -> Runs:
    """Top 100 by the sparse dot product (documents scoring 0 are left out, as FTS5 leaves them out)."""
    scores = (queries @ docs.T).toarray()
    out: Runs = {}
    for row, qid in enumerate(qids):
        best = np.argsort(-scores[row], kind="stable")[:TOP]
        out[qid] = [(doc_ids[i], float(scores[row, i])) for i in best if scores[row, i] > 0]
    return out


def bag_of_pieces(encoder: Splade, texts: list[str]) -> sparse.csr_matrix:
    """Each query as its word pieces (special tokens dropped), weight 1: SPLADE's document-only mode."""
    special = {encoder.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")}
    rows, cols = [], []
    for row, ids in enumerate(encoder.token_ids(texts)):
        for term in sorted(set(ids) - special):
            rows.append(row)
            cols.append(term)
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(texts), encoder.vocab))


POSTINGS_SQL = (
    "CREATE TABLE postings (term INTEGER NOT NULL, doc INTEGER NOT NULL, weight REAL NOT NULL, "
    "PRIMARY KEY (term, doc)) WITHOUT ROWID"
)
QUERY_SQL = (
    "WITH q(term, w) AS (SELECT CAST(key AS INTEGER), value FROM json_each(?)) "
    "SELECT p.doc, SUM(p.weight * q.w) AS s FROM q JOIN postings p ON p.term = q.term "
    "GROUP BY p.doc ORDER BY s DESC LIMIT ?"
)


def postings_db(docs: sparse.csr_matrix, file: Path) -> apsw.Connection:
    con = apsw.Connection(str(file))
    con.execute(POSTINGS_SQL)
    coo = docs.tocoo()
    with con:
        con.executemany(
            "INSERT INTO postings VALUES (?, ?, ?)",
            zip(coo.col.tolist(), coo.row.tolist(), coo.data.astype(np.float64).tolist(), strict=True),
        )
    con.execute("VACUUM")
    return con


def fts_size(corpus: list[dict[str, str]], file: Path) -> int:
    """Bytes of a file holding only the FTS5 index of the corpus (contentless: the store keeps text apart)."""
    con = apsw.Connection(str(file))
    con.execute("CREATE VIRTUAL TABLE f USING fts5(text, content='', tokenize='porter unicode61 remove_diacritics 2')")
    with con:
        con.executemany("INSERT INTO f (rowid, text) VALUES (?, ?)", [(i, doc_text(d)) for i, d in enumerate(corpus)])
    con.execute("VACUUM")
    con.close()
    return file.stat().st_size


def sql_run(
    con: apsw.Connection, queries: sparse.csr_matrix, doc_ids: list[str], qids: list[str]
) -> tuple[Runs, list[float]]:
    out: Runs = {}
    times: list[float] = []
    for row, qid in enumerate(qids):
        q = queries[row]
        terms = json.dumps({str(int(t)): float(w) for t, w in zip(q.indices, q.data, strict=True)})
        start = time.perf_counter()
        hits = list(con.execute(QUERY_SQL, (terms, TOP)))
        times.append(time.perf_counter() - start)
        out[qid] = [(doc_ids[doc], float(score)) for doc, score in hits]
    return out, times


def timed_fts(corpus: list[dict[str, str]], queries: dict[str, str], qids: list[str]) -> list[float]:
    """Per-query seconds of the BM25 top 100 (the ranking itself comes from tune_hybrid.lexical_run)."""
    con = apsw.Connection(":memory:")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')")
    with con:
        con.executemany("INSERT INTO f (rowid, text) VALUES (?, ?)", [(i, doc_text(d)) for i, d in enumerate(corpus)])
    times = []
    for qid in qids:
        match = build_fts_query(queries[qid])
        start = time.perf_counter()
        if match is not None:
            list(con.execute("SELECT rowid, -bm25(f) FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT ?", (match, TOP)))
        times.append(time.perf_counter() - start)
    return times


# --- metrics --------------------------------------------------------------------------------------------------------


def per_query(runs: Runs, qrels: dict[str, dict[str, int]], qids: Sequence[str]) -> dict[str, dict[str, float]]:
    evaluator = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in qids}, {"ndcg_cut.10", "recall.100"})
    run = {q: {doc: float(len(runs[q]) - i) for i, (doc, _) in enumerate(runs[q])} or {"-": 0.0} for q in qids}
    found = evaluator.evaluate(run)
    return {
        "ndcg@10": {q: found.get(q, {}).get("ndcg_cut_10", 0.0) for q in qids},
        "recall@100": {q: found.get(q, {}).get("recall_100", 0.0) for q in qids},
    }


def mean(values: dict[str, float]) -> float:
    return round(statistics.fmean(values.values()), 4)


def ms(times: list[float]) -> float:
    return round(1000 * statistics.median(times), 3)


# --- one set --------------------------------------------------------------------------------------------------------


def evaluate_set(folder: Path, splade: Callable[[], Splade], tag: str, encoders: dict[str, Any]) -> dict[str, Any]:
    corpus, queries, qrels = load_beir(folder)
    qids = [q for q in queries if q in qrels]
    texts = [doc_text(d) for d in corpus]
    qtexts = [queries[q] for q in qids]
    doc_ids = [d["_id"] for d in corpus]
    print(f"{folder.name}: {len(corpus)} documents, {len(qids)} judged queries", file=sys.stderr, flush=True)

    d_docs, d_seconds = cached_dense("corpus", texts, encoders)
    d_queries, dq_seconds = cached_dense("queries", qtexts, encoders)
    s_docs, s_seconds = cached_splade("corpus", texts, splade, tag)
    s_queries, sq_seconds = cached_splade("queries", qtexts, splade, tag)
    bags = bag_of_pieces(splade(), qtexts)

    dense = dense_run(d_docs, d_queries, doc_ids, qids, TOP)
    bm25 = lexical_run(corpus, {q: queries[q] for q in qids}, build_fts_query, TOP)
    splade_np = sparse_run(s_docs, s_queries, doc_ids, qids)
    splade_doc = sparse_run(s_docs, bags, doc_ids, qids)

    with tempfile.TemporaryDirectory(prefix="ogma-splade-") as tmp:
        fts_bytes = fts_size(corpus, Path(tmp) / "fts.db")
        con = postings_db(s_docs, Path(tmp) / "postings.db")
        postings_bytes = (Path(tmp) / "postings.db").stat().st_size
        splade_sql, sql_times = sql_run(con, s_queries, doc_ids, qids)
        _, sql_doc_times = sql_run(con, bags, doc_ids, qids)
        con.close()
    # SQL and scipy must agree (same scores; ties may order differently)
    for qid in qids:
        a, b = [s for _, s in splade_sql[qid][:10]], [s for _, s in splade_np[qid][:10]]
        if len(a) != len(b) or not np.allclose(a, b, rtol=1e-4, atol=1e-5):
            raise AssertionError(f"{folder.name} {qid}: SQL scores {a[:3]} differ from scipy {b[:3]}")
    np_times = []
    by_term = s_docs.T.tocsr()  # [vocab, documents]: a query reads only its terms' rows
    for row in range(len(qids)):
        start = time.perf_counter()
        scores = (s_queries[row] @ by_term).toarray()[0]
        np.argpartition(-scores, min(TOP, len(scores) - 1))[:TOP]
        np_times.append(time.perf_counter() - start)
    fts_times = timed_fts(corpus, queries, qids)

    lexical = {"bm25": bm25, "splade": splade_np, "splade-doc": splade_doc}
    configs: dict[str, Runs] = {"dense": dense, **lexical}
    for lex_name, lex in lexical.items():
        for fusion, options in FUSIONS.items():
            configs[f"dense + {lex_name}, {fusion}"] = {
                q: [(h.id, h.score) for h in fuse(dense[q], lex.get(q, []), query=queries[q], **options)][:TOP]
                for q in qids
            }
    scores = {name: per_query(runs, qrels, qids) for name, runs in configs.items()}
    nnz_docs = np.diff(s_docs.indptr)
    nnz_queries = np.diff(s_queries.indptr)
    return {
        "corpus_jsonl_sha1": hashlib.sha1((folder / "corpus.jsonl").read_bytes()).hexdigest(),
        "documents": len(corpus),
        "judged_queries": len(qids),
        "ndcg@10": {name: mean(s["ndcg@10"]) for name, s in scores.items()},
        "recall@100": {name: mean(s["recall@100"]) for name, s in scores.items()},
        "index_bytes": {"fts5 (contentless)": fts_bytes, "splade postings": postings_bytes},
        "splade_terms_per_document": {"mean": round(float(nnz_docs.mean()), 1), "max": int(nnz_docs.max())},
        "splade_terms_per_query": {"mean": round(float(nnz_queries.mean()), 1), "max": int(nnz_queries.max())},
        "encode_seconds": {
            "splade corpus": round(s_seconds, 1),
            "splade queries": round(sq_seconds, 2),
            "dense corpus": round(d_seconds, 1),
            "dense queries": round(dq_seconds, 2),
        },
        "query_ms_median": {
            "fts5 bm25": ms(fts_times),
            "splade sql": ms(sql_times),
            "splade-doc sql": ms(sql_doc_times),
            "splade scipy": ms(np_times),
        },
        "per_query_ndcg@10": {name: s["ndcg@10"] for name, s in scores.items()},
    }


def paired_stderr(per_query_scores: dict[str, dict[str, float]], a: str, b: str) -> float:
    """Standard error of the mean per-query difference ``a - b`` (a rough noise level)."""
    diffs = [per_query_scores[a][q] - per_query_scores[b][q] for q in per_query_scores[a]]
    return statistics.pstdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else 0.0


def summarise(sets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    names = list(sets)
    configs = list(next(iter(sets.values()))["ndcg@10"])
    table = {c: {s: sets[s]["ndcg@10"][c] for s in names} for c in configs}
    against: dict[str, Any] = {}
    for base in ("bm25", "dense + bm25, default", "dense + bm25, rrf"):
        for lex in ("splade", "splade-doc"):
            candidate = base.replace("bm25", lex)
            deltas = {s: round(table[candidate][s] - table[base][s], 4) for s in names}
            stderr = {s: round(paired_stderr(sets[s]["per_query_ndcg@10"], candidate, base), 4) for s in names}
            against[f"{candidate} vs {base}"] = {"per_set": deltas, "worst": min(deltas.values()), "stderr": stderr}
    best_fixed: dict[str, Any] = {}
    for fusion in FUSIONS:
        for lex in ("splade", "splade-doc"):
            candidate, base = f"dense + {lex}, {fusion}", f"dense + bm25, {fusion}"
            deltas = {s: round(table[candidate][s] - table[base][s], 4) for s in names}
            best_fixed[f"{candidate} vs {base}"] = {"per_set": deltas, "worst": min(deltas.values())}
    return {"ndcg@10": table, "deltas": against, "every_fusion": best_fixed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="BEIR folders")
    parser.add_argument("--splade", type=Path, default=None, help="SPLADE checkpoint folder [real_models splade-tiny]")
    parser.add_argument("--max-length", type=int, default=256, help="SPLADE token window [256]")
    parser.add_argument("--batch", type=int, default=32, help="SPLADE batch size [32]")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()
    if args.splade is None:
        sys.path.insert(0, str(ROOT))
        import real_models

        args.splade = real_models.fetch(["splade-tiny"])["splade-tiny"]
    folder = splade_folder(args.splade)
    tag = f"{folder.name}|{args.max_length}"
    holder: dict[str, Splade] = {}

    def splade() -> Splade:
        if "model" not in holder:
            holder["model"] = Splade(folder, args.max_length, args.batch)
        return holder["model"]

    encoders: dict[str, Any] = {}
    sets = {}
    for data in args.data:
        sets[data.name] = evaluate_set(data, splade, tag, encoders)
        row = sets[data.name]
        print(json.dumps({data.name: {k: v for k, v in row.items() if k != "per_query_ndcg@10"}}), flush=True)
    summary = summarise(sets)
    for name, delta in summary["deltas"].items():
        print(f"{name}: worst {delta['worst']:+.4f} {delta['per_set']} stderr {delta['stderr']}")
    results = {
        "splade_model": f"{args.splade.name} (BertForMaskedLM, 2 layers, hidden 128), converted by ogma.convert",
        "splade_max_length": args.max_length,
        "dense_model": DENSE_MODEL,
        "candidates_per_list": TOP,
        "metric": "nDCG@10 and recall@100, trec_eval linear gain",
        "cpu_flags": cpu_flags(),
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "threads": int(os.environ.get("OGMA_BENCH_THREADS", "2")),
        "sets": {n: {k: v for k, v in s.items() if k != "per_query_ndcg@10"} for n, s in sets.items()},
        **summary,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
