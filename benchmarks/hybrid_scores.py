"""How hybrid scores spread over a BEIR set, and for queries the set knows nothing about.

Embeds the corpus with all-MiniLM-L6-v2 (documents as ``title + " " + text``), stores it in
an in-memory :class:`ogma.Store`, and runs the default hybrid search for every query; then
reports the top hit's score, the scores of judged-relevant and other hits in the top 10,
and the best score of a few queries from outside the set's domain, and nDCG@10. The numbers
behind "Scores" in ``docs/hybrid.md``.

Usage:
    python benchmarks/hybrid_scores.py --data path/to/nano-dbpedia
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from ogma import Store, TextEncoder
from ogma.evaluate.metrics import evaluate_run

FOREIGN = (
    "what is the recipe for banana bread?",
    "how do I reset my router password",
    "best running shoes for flat feet",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    args = parser.parse_args()
    corpus = [json.loads(line) for line in (args.data / "corpus.jsonl").open(encoding="utf-8") if line.strip()]
    queries = [json.loads(line) for line in (args.data / "queries.jsonl").open(encoding="utf-8") if line.strip()]
    qrels: dict[str, dict[str, int]] = {}
    for line in (args.data / "qrels" / "test.tsv").open(encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3 and parts[2].isdigit():
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    encoder = TextEncoder(args.model)
    with Store(":memory:", encoder) as store:
        store.add([(c.get("title", "") + " " + c["text"]).strip() for c in corpus], ids=[c["_id"] for c in corpus])
        top: list[float] = []
        relevant: list[float] = []
        other: list[float] = []
        run: dict[str, dict[str, float]] = {}
        for query in queries:
            hits = store.search(query["text"], k=10, mode="hybrid")
            judged = qrels.get(query["_id"], {})
            top.append(hits[0].score)
            relevant += [h.score for h in hits if judged.get(h.id, 0) > 0]
            other += [h.score for h in hits if judged.get(h.id, 0) == 0]
            run[query["_id"]] = {h.id: float(len(hits) - rank) for rank, h in enumerate(hits)}
        foreign = {text: store.search(text, k=1, mode="hybrid")[0].score for text in FOREIGN}
    print(f"nDCG@10: {evaluate_run(run, qrels, ['ndcg@10'])['ndcg@10']:.4f}")
    print(f"top hit: median {statistics.median(top):.3f}, min {min(top):.3f}, max {max(top):.3f}")
    print(f"judged relevant in the top 10: median {statistics.median(relevant):.3f} ({len(relevant)} hits)")
    print(f"other hits in the top 10: median {statistics.median(other):.3f} ({len(other)} hits)")
    for text, score in foreign.items():
        print(f"outside the set: {text!r}: best hit {score:.3f}")


if __name__ == "__main__":
    main()
