"""Exporting an Ogma checkpoint (PyTorch weights + its own model code) to one ONNX file.

The exported ``model.onnx`` takes ``input_ids`` and ``attention_mask`` (int64,
``[batch, seq]``) and ``task`` (int64, ``[batch]``, see :data:`TASK_IDS`) and returns
``sentence_embedding`` (float32, ``[batch, d_output]``): the task token, transformer,
mean pooling and L2 normalisation all run inside the graph.

How the task becomes a graph input depends on the checkpoint's code:

* if ``encode`` accepts the task as a tensor (checked by a probe call), the graph is
  traced once with a per-row task input;
* otherwise (the published API takes a ``TaskToken`` member) one graph is traced per
  task. When the three graphs differ only in constants (the usual case: the task
  token's id or embedding is baked in), they become one graph in which a ``Gather``
  on the task picks each such constant — the cost and size of a single-task graph.
  Graphs that differ in structure are merged under ``If`` nodes that run only the
  selected branch, with identical weights stored once (the file is barely larger
  than one graph; small inputs run measurably slower than a single-task graph).
  Both merged forms read the task of the first row, so every row of a batch must
  share a task; the ``If`` form treats ids other than query/document as symmetric.

The export is verified against PyTorch (cosine ≥ :data:`MIN_COSINE` for every task)
and written atomically (:func:`ogma.convert.files.atomic_output_dir`): a temporary
folder next to ``out_dir`` is renamed into place.

Example:
    >>> from ogma.convert.ogma_export import TASK_IDS
    >>> TASK_IDS["query"], TASK_IDS["document"], TASK_IDS["symmetric"]
    (0, 1, 2)
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer

from ogma.backends.ogma_code import (
    TASK_IDS,
    LoadedOgma,
    import_torch,
    open_ogma_checkpoint,
    require_trusted,
)
from ogma.convert.files import atomic_output_dir
from ogma.errors import ConversionError

__all__ = [
    "CONVERSION_FILE",
    "MAX_LENGTH",
    "MIN_COSINE",
    "MODEL_FILE",
    "OUTPUT_NAME",
    "TASK_IDS",
    "export_ogma_checkpoint",
]

logger = logging.getLogger(__name__)

INPUT_NAMES = ("input_ids", "attention_mask", "task")
OUTPUT_NAME = "sentence_embedding"
MODEL_FILE = "model.onnx"
CONVERSION_FILE = "ogma_conversion.json"
MAX_LENGTH = 1024
MIN_COSINE = 0.9999
N_SPECIAL = 7
_BOS, _EOS = 2, 3
_COPIED_FILES = ("tokenizer.json", "config.json")
_EXPORT_LENGTHS = (9, 6)
_VERIFY_BATCHES = ((12, 5, 31), (4,))

TaskInput = Literal["tensor", "task-constants", "if-branches"]
"""How the exported graph uses its ``task`` input (recorded in ``ogma_conversion.json``)."""


def export_ogma_checkpoint(
    checkpoint_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    trust_remote_code: bool = False,
    opset: int = 17,
    overwrite: bool = False,
) -> Path:
    """Export an Ogma checkpoint folder to ``out_dir/model.onnx`` with its tokenizer.

    Args:
        checkpoint_dir: Folder with ``ogma_model.py``, ``config.py``, ``config.json``,
            ``model.safetensors`` and ``tokenizer.json`` (a hub snapshot).
        out_dir: Folder to create; receives ``model.onnx``, ``tokenizer.json``,
            ``config.json`` and ``ogma_conversion.json``.
        trust_remote_code: Must be ``True``: exporting imports and runs the
            checkpoint's own Python code.
        opset: ONNX opset of the exported graph.
        overwrite: Replace ``out_dir`` if it exists (only once the new export is complete).

    Returns:
        ``out_dir``.

    Raises:
        TrustRemoteCodeError: ``trust_remote_code`` is not ``True`` (nothing is imported or run).
        MissingExtraError: torch is not installed.
        ConversionError: The checkpoint's files or API differ from the model card, the
            export fails, its output differs from PyTorch, or ``out_dir`` exists.

    Example:
        >>> out = export_ogma_checkpoint("ogma-mini", "ogma-mini-onnx", trust_remote_code=True)  # doctest: +SKIP
        >>> sorted(p.name for p in out.iterdir())  # doctest: +SKIP
        ['config.json', 'model.onnx', 'ogma_conversion.json', 'tokenizer.json']
    """
    source = Path(checkpoint_dir).resolve()
    out = Path(out_dir).resolve()
    purpose = "Exporting an Ogma checkpoint to ONNX"
    require_trusted(trust_remote_code, source, action=purpose)
    torch = import_torch(purpose)
    tokenizer_file = source / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise ConversionError(
            f"{tokenizer_file} not found: an Ogma checkpoint folder must contain tokenizer.json. "
            "Download the complete model repository."
        )
    vocab_end = _vocab_end(tokenizer_file)
    with (
        atomic_output_dir(out, overwrite=overwrite) as staging,
        open_ogma_checkpoint(source, device="cpu", trust_remote_code=True) as loaded,
    ):
        task_input, cosines = _export_and_verify(loaded, torch, staging / MODEL_FILE, opset, vocab_end)
        for name in _COPIED_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, staging / name)
        record = _conversion_record(loaded, torch, source, opset, task_input, cosines)
        (staging / CONVERSION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info("Exported %s to %s (task input: %s, min cosine %s)", source, out, task_input, cosines)
    return out


def _vocab_end(tokenizer_file: Path) -> int:
    """One past the largest Ogma token id the tokenizer can produce (ids are shifted by 7)."""
    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
    except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
        raise ConversionError(f"{tokenizer_file} is not a valid tokenizer.json: {exc}") from exc
    return int(tokenizer.get_vocab_size(with_added_tokens=True)) + N_SPECIAL


def _sample_batch(torch: Any, lengths: Iterable[int], vocab_end: int, seed: int) -> tuple[Any, Any]:
    """A padded batch of BOS + random ids + EOS rows with the given lengths."""
    sizes = list(lengths)
    rng = np.random.default_rng(seed)
    ids = np.zeros((len(sizes), max(sizes)), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, size in enumerate(sizes):
        body = rng.integers(N_SPECIAL, max(vocab_end, N_SPECIAL + 1), size=max(size - 2, 0))
        tokens = np.concatenate([[_BOS], body, [_EOS]])[:size]
        ids[row, :size] = tokens
        mask[row, :size] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def _export_and_verify(
    loaded: LoadedOgma, torch: Any, path: Path, opset: int, vocab_end: int
) -> tuple[TaskInput, dict[str, float]]:
    """Export in the cheapest form that reproduces the model; verified against PyTorch."""
    if _takes_task_tensor(loaded, torch, vocab_end):
        try:
            _export_task_tensor(loaded, torch, path, opset, vocab_end)
            return "tensor", _verify(loaded, torch, path, vocab_end, per_row=True)
        except ConversionError as exc:
            logger.info("Exporting with a task tensor did not reproduce the model (%s); tracing per task", exc)
    branches = _export_branches(loaded, torch, path, opset, vocab_end)
    merged = _merge_task_constants(branches)
    if merged is not None:
        _save_checked(merged, path)
        try:
            return "task-constants", _verify(loaded, torch, path, vocab_end)
        except ConversionError as exc:
            logger.info("Selecting task constants did not reproduce the model (%s); using If branches", exc)
    _save_checked(_merge_with_if(branches, d_output=loaded.d_output), path)
    return "if-branches", _verify(loaded, torch, path, vocab_end)


def _task_values(loaded: LoadedOgma) -> list[int] | None:
    """The ``TaskToken`` values in :data:`TASK_IDS` order, or ``None`` when they are not integers."""
    try:
        return [int(loaded.tasks[name]) for name in TASK_IDS]
    except (TypeError, ValueError):
        return None


def _takes_task_tensor(loaded: LoadedOgma, torch: Any, vocab_end: int) -> bool:
    """Whether ``encode`` accepts a per-row tensor of task values and matches the enum calls."""
    values = _task_values(loaded)
    if values is None:
        return False
    ids, mask = _sample_batch(torch, [7] * len(values), vocab_end, seed=1)
    try:
        with torch.inference_mode():
            mixed = loaded.model.encode(ids, mask, task=torch.tensor(values, dtype=torch.long))
            expected = [
                loaded.model.encode(ids[i : i + 1], mask[i : i + 1], task=loaded.tasks[name])
                for i, name in enumerate(TASK_IDS)
            ]
    except Exception as exc:  # any failure means "no": fall back to one graph per task
        logger.debug("encode does not take a task tensor: %s: %s", type(exc).__name__, exc)
        return False
    if not isinstance(mixed, torch.Tensor) or tuple(mixed.shape) != (len(values), loaded.d_output):
        return False
    cosines = [_cosine(mixed[i].numpy(), row[0].numpy()) for i, row in enumerate(expected)]
    return min(cosines) >= MIN_COSINE


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    denom = float(np.linalg.norm(a64) * np.linalg.norm(b64))
    return float(a64 @ b64 / denom) if denom else 0.0


def _torch_export(torch: Any, module: Any, args: tuple[Any, ...], path: Path, opset: int, names: list[str]) -> None:
    """Trace ``module`` to ``path`` with the TorchScript-based exporter and dynamic batch/seq axes."""
    axes: dict[str, dict[int, str]] = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}
    if "task" in names:
        axes["task"] = {0: "batch"}
    axes[OUTPUT_NAME] = {0: "batch"}
    options: dict[str, Any] = {
        "input_names": names,
        "output_names": [OUTPUT_NAME],
        "dynamic_axes": axes,
        "opset_version": opset,
        "do_constant_folding": True,
    }
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        options["dynamo"] = False  # the graph is traced; the dynamo exporter needs onnxscript
    try:
        with warnings.catch_warnings(record=True) as caught, torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("always")
            torch.onnx.export(module, args, str(path), **options)
    except Exception as exc:  # torch.onnx raises many unrelated types
        raise ConversionError(
            f"torch.onnx.export failed for the Ogma model ({type(exc).__name__}: {exc}). "
            f"Try another opset (got opset={opset}) or a newer torch."
        ) from exc
    for warning in caught:
        logger.debug("torch.onnx.export: %s", warning.message)


def _wrapper(torch: Any, encode: Callable[..., Any]) -> Any:
    """A ``torch.nn.Module`` whose ``forward`` calls ``encode`` (tracing needs a module)."""

    class _Encode(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            return encode(self.model, *inputs)

    return _Encode


def _export_task_tensor(loaded: LoadedOgma, torch: Any, path: Path, opset: int, vocab_end: int) -> None:
    values = torch.tensor(_task_values(loaded), dtype=torch.long)

    def encode(model: Any, input_ids: Any, attention_mask: Any, task: Any) -> Any:
        return model.encode(input_ids, attention_mask, task=values[task])

    module = _wrapper(torch, encode)(loaded.model).eval()
    ids, mask = _sample_batch(torch, _EXPORT_LENGTHS, vocab_end, seed=2)
    task = torch.tensor([TASK_IDS["query"], TASK_IDS["document"]], dtype=torch.long)
    _torch_export(torch, module, (ids, mask, task), path, opset, list(INPUT_NAMES))


def _export_branches(
    loaded: LoadedOgma, torch: Any, path: Path, opset: int, vocab_end: int
) -> dict[str, onnx.ModelProto]:
    """One traced single-task graph per task, keyed like :data:`TASK_IDS`."""
    ids, mask = _sample_batch(torch, _EXPORT_LENGTHS, vocab_end, seed=2)
    branches: dict[str, onnx.ModelProto] = {}
    for name in TASK_IDS:
        member = loaded.tasks[name]

        def encode(model: Any, input_ids: Any, attention_mask: Any, _member: Any = member) -> Any:
            return model.encode(input_ids, attention_mask, task=_member)

        module = _wrapper(torch, encode)(loaded.model).eval()
        branch_file = path.with_name(f"branch-{name}.onnx")
        _torch_export(torch, module, (ids, mask), branch_file, opset, list(INPUT_NAMES[:2]))
        branches[name] = onnx.load(str(branch_file))
        branch_file.unlink()
    return branches


def _save_checked(model: onnx.ModelProto, path: Path) -> None:
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ConversionError(f"The merged Ogma graph is not valid ONNX: {exc}") from exc
    onnx.save(model, str(path))


def _task_input() -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info("task", TensorProto.INT64, ["batch"])


def _scalar(name: str, value: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(value, dtype=np.int64), name)


_FIRST_TASK = "task_first"


def _first_task_nodes() -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """Nodes computing the scalar ``task_first`` (the first row's task id)."""
    node = helper.make_node("Gather", ["task", "task_row_0"], [_FIRST_TASK], name="task_of_first_row", axis=0)
    return [node], [_scalar("task_row_0", 0)]


def _without_value(node: onnx.NodeProto) -> bytes:
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    kept = [a for a in copy.attribute if a.name != "value"]
    del copy.attribute[:]
    copy.attribute.extend(kept)
    return copy.SerializeToString(deterministic=True)


def _value_array(node: onnx.NodeProto) -> np.ndarray | None:
    for attr in node.attribute:
        if attr.name == "value" and attr.type == onnx.AttributeProto.TENSOR:
            return numpy_helper.to_array(attr.t)
    return None


def _select_nodes(node: onnx.NodeProto, values: list[np.ndarray], index: int) -> tuple[list[Any], list[Any]] | None:
    """Nodes (and initializers) replacing a ``Constant``/``ConstantOfShape`` whose value depends on the task."""
    if any(v.shape != values[0].shape or v.dtype != values[0].dtype for v in values):
        return None
    table = f"task_constant_{index}"
    init = numpy_helper.from_array(np.stack(values), table)
    if node.op_type == "Constant":
        gather = helper.make_node("Gather", [table, _FIRST_TASK], list(node.output), name=f"{table}/select", axis=0)
        return [gather], [init]
    if node.op_type == "ConstantOfShape" and values[0].size == 1 and values[0].dtype.kind in "iuf":
        flat = numpy_helper.from_array(np.stack([v.reshape(()) for v in values]), table)
        zero = numpy_helper.from_array(np.zeros(1, dtype=values[0].dtype))
        picked, zeros = f"{table}/value", f"{table}/zeros"
        return [
            helper.make_node("Gather", [table, _FIRST_TASK], [picked], name=f"{table}/select", axis=0),
            helper.make_node("ConstantOfShape", list(node.input), [zeros], name=f"{table}/fill", value=zero),
            helper.make_node("Add", [zeros, picked], list(node.output), name=f"{table}/add"),
        ], [flat]
    return None


def _merge_task_constants(branches: dict[str, onnx.ModelProto]) -> onnx.ModelProto | None:
    """One graph from per-task graphs that differ only in constants, or ``None`` when they differ otherwise.

    Every constant (initializer, ``Constant`` or ``ConstantOfShape`` value) whose value
    depends on the task is replaced by a ``Gather`` of the first row's task id over the
    stacked per-task values; the rest of the graph is shared as is.
    """
    graphs = [branches[name].graph for name in TASK_IDS]
    base = graphs[0]

    def same(items: Iterable[Any]) -> bool:
        return len({x.SerializeToString(deterministic=True) for x in items}) == 1

    if any(len(g.node) != len(base.node) or len(g.initializer) != len(base.initializer) for g in graphs):
        return None
    if not all(same(group) for group in zip(*(list(g.input) + list(g.output) for g in graphs))):
        return None
    pre_nodes, inits = _first_task_nodes()
    nodes: list[onnx.NodeProto] = []
    for index, group in enumerate(zip(*(g.node for g in graphs))):
        if same(group):
            nodes.append(group[0])
            continue
        values = [_value_array(n) for n in group]
        if len({_without_value(n) for n in group}) != 1 or any(v is None for v in values):
            return None
        replacement = _select_nodes(group[0], [v for v in values if v is not None], index)
        if replacement is None:
            return None
        nodes.extend(replacement[0])
        inits.extend(replacement[1])
    for index, group in enumerate(zip(*(g.initializer for g in graphs))):
        first = group[0]
        if same(group):
            inits.append(first)
            continue
        arrays = [numpy_helper.to_array(t) for t in group]
        if len({t.name for t in group}) != 1 or any(a.shape != arrays[0].shape for a in arrays):
            return None
        table = f"task_initializer_{index}"
        inits.append(numpy_helper.from_array(np.stack(arrays), table))
        pre_nodes.append(helper.make_node("Gather", [table, _FIRST_TASK], [first.name], name=f"{table}/select"))
    graph = helper.make_graph(
        pre_nodes + nodes, "ogma", [*base.input, _task_input()], list(base.output), initializer=inits
    )
    graph.value_info.extend(base.value_info)
    first_model = branches[next(iter(TASK_IDS))]
    merged = helper.make_model(graph, opset_imports=list(first_model.opset_import), producer_name="ogma")
    merged.ir_version = first_model.ir_version
    return merged


def _tensor_key(tensor: onnx.TensorProto) -> str:
    array = numpy_helper.to_array(tensor)
    digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
    return f"{tensor.data_type}:{tuple(tensor.dims)}:{digest}"


def _rename_graph(graph: onnx.GraphProto, rename: Callable[[str], str]) -> None:
    """Rename every value and node in ``graph`` and its subgraphs in place."""
    for node in graph.node:
        node.name = rename(node.name) if node.name else node.name
        node.input[:] = [rename(n) if n else n for n in node.input]
        node.output[:] = [rename(n) if n else n for n in node.output]
        for attr in node.attribute:
            if attr.HasField("g"):
                _rename_graph(attr.g, rename)
            for sub in attr.graphs:
                _rename_graph(sub, rename)
    for info in [*graph.input, *graph.output, *graph.value_info]:
        info.name = rename(info.name)
    for init in graph.initializer:
        init.name = rename(init.name)


def _merge_with_if(branches: dict[str, onnx.ModelProto], *, d_output: int) -> onnx.ModelProto:
    """Merge one single-task graph per task into one model that selects a branch with ``If``.

    Each branch graph must take ``input_ids`` and ``attention_mask`` and return one
    output. Initializers are moved to the outer graph and deduplicated by content, so
    weights the branches share are stored once; the branches read them from the outer
    scope. The ``task`` input's first element picks the branch.

    Args:
        branches: Single-task models keyed by the names in :data:`TASK_IDS`.
        d_output: Output width, for the declared output shape.

    Returns:
        The merged model.

    Raises:
        ConversionError: A branch is missing or has a different signature.
    """
    if set(branches) != set(TASK_IDS):
        raise ConversionError(f"expected one branch per task {sorted(TASK_IDS)}, got {sorted(branches)}")
    shared: dict[str, str] = {}
    initializers: list[onnx.TensorProto] = []
    graphs: dict[str, onnx.GraphProto] = {}
    outer = set(INPUT_NAMES[:2])
    for task, model in branches.items():
        graph = onnx.GraphProto()
        graph.CopyFrom(model.graph)
        if [i.name for i in graph.input] != list(INPUT_NAMES[:2]) or len(graph.output) != 1:
            raise ConversionError(
                f"the {task} branch has inputs {[i.name for i in graph.input]} and {len(graph.output)} outputs; "
                f"expected inputs {list(INPUT_NAMES[:2])} and one output"
            )
        names: dict[str, str] = {name: name for name in outer}
        for init in graph.initializer:
            key = _tensor_key(init)
            if key not in shared:
                shared[key] = f"w{len(shared)}.{init.name}"
                kept = onnx.TensorProto()
                kept.CopyFrom(init)
                kept.name = shared[key]
                initializers.append(kept)
            names[init.name] = shared[key]
        del graph.initializer[:]
        _rename_graph(graph, lambda n, _names=names, _task=task: _names.get(n, f"{_task}/{n}"))  # type: ignore[misc]
        del graph.input[:]
        graph.name = f"{task}_branch"
        graphs[task] = graph

    not_query_out = "not_query/sentence_embedding"
    not_query = helper.make_graph(
        [
            helper.make_node(
                "If",
                ["task_is_document"],
                [not_query_out],
                name="select_document_or_symmetric",
                then_branch=graphs["document"],
                else_branch=graphs["symmetric"],
            )
        ],
        "not_query_branch",
        [],
        [helper.make_tensor_value_info(not_query_out, TensorProto.FLOAT, ["batch", d_output])],
    )
    nodes, consts = _first_task_nodes()
    nodes += [
        helper.make_node("Equal", [_FIRST_TASK, "task_id_query"], ["task_is_query"], name="is_query"),
        helper.make_node("Equal", [_FIRST_TASK, "task_id_document"], ["task_is_document"], name="is_document"),
        helper.make_node(
            "If",
            ["task_is_query"],
            [OUTPUT_NAME],
            name="select_task",
            then_branch=graphs["query"],
            else_branch=not_query,
        ),
    ]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        _task_input(),
    ]
    consts += [_scalar("task_id_query", TASK_IDS["query"]), _scalar("task_id_document", TASK_IDS["document"])]
    main = helper.make_graph(
        nodes,
        "ogma_task_select",
        inputs,
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", d_output])],
        initializer=consts + initializers,
    )
    first = next(iter(branches.values()))
    merged = helper.make_model(main, opset_imports=list(first.opset_import), producer_name="ogma")
    merged.ir_version = first.ir_version
    logger.debug("Merged %d task branches sharing %d initializers", len(branches), len(initializers))
    return merged


def _verify(loaded: LoadedOgma, torch: Any, path: Path, vocab_end: int, *, per_row: bool = False) -> dict[str, float]:
    """Compare ONNX Runtime with PyTorch for every task; the smallest row cosine per task.

    With ``per_row``, a batch mixing the three tasks is checked too (graphs traced with a task tensor).
    """
    from ogma.runtime import create_session

    session = create_session(path)
    worst: dict[str, float] = {}
    checks: list[tuple[str, list[int], list[str]]] = []
    for task in TASK_IDS:
        checks += [(task, list(lengths), [task] * len(lengths)) for lengths in _VERIFY_BATCHES]
    if per_row:
        checks.append(("mixed", [7, 15, 4], list(TASK_IDS)))
    for seed, (label, lengths, tasks) in enumerate(checks):
        ids, mask = _sample_batch(torch, lengths, vocab_end, seed=10 + seed)
        with torch.inference_mode():
            expected = [
                loaded.model.encode(ids[i : i + 1], mask[i : i + 1], task=loaded.tasks[task])[0].float().numpy()
                for i, task in enumerate(tasks)
            ]
        feed = {
            "input_ids": ids.numpy(),
            "attention_mask": mask.numpy(),
            "task": np.array([TASK_IDS[task] for task in tasks], dtype=np.int64),
        }
        try:
            (got,) = session.run([OUTPUT_NAME], feed)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ConversionError(f"The exported graph failed in ONNX Runtime for task {label!r}: {exc}") from exc
        cosine = min(_cosine(np.asarray(got[row]), want) for row, want in enumerate(expected))
        worst[label] = min(worst.get(label, 1.0), cosine)
        if worst[label] < MIN_COSINE:
            raise ConversionError(
                f"The exported graph differs from PyTorch for task {label!r}: cosine {worst[label]:.6f} < "
                f"{MIN_COSINE}. The model code may take a path tracing cannot capture; report it with the "
                "checkpoint name."
            )
    return worst


def _matryoshka_dims(config: dict[str, Any], d_output: int) -> list[int]:
    """``matryoshka_dims`` from ``config.json`` (top level or one level down), largest first."""
    candidates: list[Any] = [config, *(v for v in config.values() if isinstance(v, dict))]
    for section in candidates:
        dims = section.get("matryoshka_dims")
        if isinstance(dims, list) and all(isinstance(d, int) for d in dims):
            return sorted({d for d in dims if 0 < d <= d_output}, reverse=True)
    return []


def _conversion_record(
    loaded: LoadedOgma, torch: Any, source: Path, opset: int, task_input: TaskInput, cosines: dict[str, float]
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    config_file = source / "config.json"
    if config_file.is_file():
        try:
            parsed = json.loads(config_file.read_text(encoding="utf-8"))
            config = parsed if isinstance(parsed, dict) else {}
        except (OSError, ValueError) as exc:
            logger.warning("Could not read %s (%s); Matryoshka dims are not recorded", config_file, exc)
    return {
        "kind": "ogma",
        "d_output": loaded.d_output,
        "matryoshka_dims": _matryoshka_dims(config, loaded.d_output),
        "max_length": MAX_LENGTH,
        "task_ids": dict(TASK_IDS),
        "task_input": task_input,
        "inputs": list(INPUT_NAMES),
        "output": OUTPUT_NAME,
        "normalized": loaded.normalized,
        "source": str(source),
        "torch_version": str(torch.__version__),
        "opset": opset,
        "verified_min_cosine": {task: round(value, 7) for task, value in cosines.items()},
    }
