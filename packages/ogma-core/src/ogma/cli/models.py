"""``ogma models``: the registry table (dims, context, licence, cached or not)."""

from __future__ import annotations

import argparse
import json

from ogma.registry import CROSS_ENCODERS, DEFAULT_MODEL, MODELS
from ogma.store.ranking import DEFAULT_RERANK_ALPHA, DEFAULT_RERANK_DEPTH

__all__ = ["CHOOSING", "register", "run"]

CHOOSING = f"""Which to pick (nano-dbpedia, 40 queries, 5,000 passages, nDCG@10; docs/encoder.md):
  all-MiniLM-L6-v2     the default: Apache-2.0, 6 layers (half the work per token of the 12-layer
                       models), 256-token window, symmetric; 0.517.
  e5-small-v2          MIT, 12 layers, 34 MB int8, 512-token window, 'query: '/'passage: ' (0.499;
                       0.350 without them: always declare a local copy with --model-id).
  bge-small-en-v1.5    MIT, 12 layers, 34 MB int8, 512-token window, CLS pooling; 0.504 with its
                       query instruction, 0.520 without (the instruction is optional).
  ogma-*               CC-BY-NC-4.0 (non-commercial only): task tokens, Matryoshka dims, 1024 tokens.
  On docstring questions (docs/encoder.md) bge led python-nl (0.376 vs MiniLM 0.366) and
  MiniLM packages-nl (0.623 vs bge 0.567): compare on your own data with ogma eval DATA -m A B.
  Reranker: cross-encoder/ms-marco-MiniLM-L-12-v2 (Apache-2.0) on the top {DEFAULT_RERANK_DEPTH} hits,
  blended with the first stage at rerank_alpha {DEFAULT_RERANK_ALPHA} (docs/benchmarks.md, "Reranking on real models").
  A local copy of a registry model: -m FOLDER --model-id ID (TextEncoder(folder, model_id=ID))."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``models`` command."""
    parser = subparsers.add_parser(
        "models",
        help="list known models",
        description="List the registry's embedding models and rerankers: dims, Matryoshka dims, context, "
        "how queries/documents are marked, licence, and whether they are available offline.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def _cached(model_id: str) -> bool:
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        return any(repo.repo_id == model_id for repo in scan_cache_dir().repos)
    except CacheNotFound:
        return False


def _available_offline(model_id: str, fallback: str | None) -> str:
    if _cached(model_id):
        return "cached"
    if fallback:
        import importlib.util

        if importlib.util.find_spec(fallback) is not None:
            return f"package {fallback.replace('_', '-')}"
    return "no"


def run(args: argparse.Namespace) -> int:
    """Run ``ogma models``."""
    rows = [
        {
            "model": spec.model_id,
            "dim": spec.dim,
            "matryoshka": list(spec.matryoshka_dims),
            "context": spec.max_length,
            "tasks": spec.task_scheme.kind,
            "license": spec.license,
            "offline": _available_offline(spec.model_id, spec.fallback_package),
            "notes": spec.description,
            "default": spec.model_id == DEFAULT_MODEL,
        }
        for spec in MODELS.values()
    ]
    rerankers = [
        {
            "model": s.model_id,
            "context": s.max_length,
            "license": s.license,
            "offline": _available_offline(s.model_id, None),
        }
        for s in CROSS_ENCODERS.values()
    ]
    if args.json:
        print(json.dumps({"embedding": rows, "rerank": rerankers}, indent=2))
        return 0
    header = f"{'model':42} {'dim':>4} {'matryoshka':16} {'ctx':>5} {'tasks':7} {'license':13} offline"
    print("Embedding models\n" + header)
    for r in rows:
        dims = ",".join(str(d) for d in r["matryoshka"]) or "-"  # type: ignore[attr-defined]
        print(
            f"{r['model']:42} {r['dim']:>4} {dims:16} {r['context']:>5} {r['tasks']:7} {r['license']:13} {r['offline']}"
        )
    print("\nRerankers\n" + f"{'model':42} {'ctx':>5} {'license':13} offline")
    for r in rerankers:
        print(f"{r['model']:42} {r['context']:>5} {r['license']:13} {r['offline']}")
    print("\n" + CHOOSING)
    print(
        f"\nDefault model: {DEFAULT_MODEL} (used when no -m/--model is given).\n"
        "The Ogma models (axiotic/ogma-*, -m ogma-mini etc.) are CC-BY-NC-4.0: non-commercial use only; they were "
        "distilled from jina-embeddings-v5-text-small (Jina AI, CC-BY-NC-4.0)."
    )
    return 0
