"""`vigil text filenames ...` and `vigil text chats ...`: prioritisation aids, never verdicts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.core import defaults
from vigil.core.errors import ItemError, VigilError
from vigil.interfaces.cli.common import App, console, err

text_app = App(help="Text intelligence: filenames/queries and chat grooming risk.")
filenames_app = App(help="Filename and search-query classifier (train on your own labelled CSV).")
chats_app = App(help="Grooming-risk scores per chat author.")
text_app.add_typer(filenames_app, name="filenames")
text_app.add_typer(chats_app, name="chats")

ModelOption = Annotated[Path, typer.Option("--model", help="Model file (JSON data, written by train)")]


def _problems(problems: list[ItemError]) -> None:
    for p in problems[:20]:
        err.print(f"[yellow]skipped[/] {p}")
    if len(problems) > 20:
        err.print(f"[yellow]... and {len(problems) - 20} more skipped[/]")


@filenames_app.command("train")
def filenames_train(
    csv_path: Annotated[Path, typer.Argument(help="CSV with columns text,label")],
    out: ModelOption,
    positive: Annotated[str, typer.Option(help="The label to detect")] = "1",
    target_precision: Annotated[
        float | None, typer.Option(help="Pick the threshold for this precision")
    ] = None,
) -> None:
    """Train a character n-gram model; the threshold is calibrated on cross-validated scores."""
    from vigil.intel.text import filenames as fn

    model, skipped = fn.train(csv_path, positive=positive, target_precision=target_precision)
    model.save(out)
    console.print(
        f"model written to {out}: {model.info['trained_on']} examples, {skipped} rows skipped, "
        f"threshold {model.threshold:.3f}, cross-validated {model.info['cross_validated']}"
    )


@filenames_app.command("eval")
def filenames_eval(
    csv_path: Annotated[Path, typer.Argument(help="Held-out CSV text,label")], model: ModelOption
) -> None:
    """Precision, recall and F1 at the model's calibrated threshold."""
    from vigil.intel.text import filenames as fn
    from vigil.intel.text.linear import LinearTextModel

    metrics = fn.evaluate(LinearTextModel.load(model), csv_path)
    table = Table("threshold", "precision", "recall", "F1", "positives", "negatives")
    table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in metrics.as_dict().values()))
    console.print(table)


@filenames_app.command("holdout")
def filenames_holdout(
    csv_path: Annotated[Path, typer.Argument(help="Labelled CSV text,label")],
    positive: Annotated[str, typer.Option(help="Label value the model should find")] = "1",
    folds: Annotated[int, typer.Option(help="Word folds")] = 5,
) -> None:
    """How a model trained on this CSV does on words it never saw (whole words held out), beside
    ordinary row-held-out cross-validation. The gap is what new slang or series names will cost."""
    from vigil.intel.text import filenames as fn

    result = fn.evaluate_held_out_words(csv_path, positive=positive, folds=folds)
    table = Table("held out", "precision", "recall", "F1", "positives", "negatives")
    for name, metrics in (("rows", result.rows), (f"words ({result.folds} folds)", result.words)):
        table.add_row(
            name,
            *(f"{getattr(metrics, k):.3f}" for k in ("precision", "recall", "f1")),
            str(metrics.positives),
            str(metrics.negatives),
        )
    console.print(table)


@filenames_app.command("classify")
def filenames_classify(
    model: ModelOption,
    texts: Annotated[
        list[str] | None, typer.Argument(help="Names or queries (default: one per stdin line)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score names or queries and show the n-grams that raised each score."""
    from vigil.intel.text import filenames as fn
    from vigil.intel.text.linear import LinearTextModel

    loaded = LinearTextModel.load(model)
    items = texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    verdicts = fn.classify(loaded, items)
    if as_json:
        console.print_json(json.dumps([v.__dict__ for v in verdicts]))
        return
    table = Table("score", "flag", "text", "because")
    for v in verdicts:
        table.add_row(
            f"{v.score:.3f}", "review" if v.flagged else "", v.text, ", ".join(f"'{g}'" for g, _ in v.because)
        )
    console.print(table)


FormatOption = Annotated[str | None, typer.Option("--format", help="jsonl or pan2012 (default by suffix)")]


@chats_app.command("score")
def chats_score(
    path: Annotated[Path, typer.Argument(help="JSON lines (alias, timestamp, text) or PAN 2012 XML")],
    engine: Annotated[str, typer.Option(help="indicator or model")] = "indicator",
    model: Annotated[Path | None, typer.Option(help="Model file for --engine model")] = None,
    lexicon: Annotated[Path | None, typer.Option(help="Extra indicator patterns (JSON)")] = None,
    fmt: FormatOption = None,
    early_k: Annotated[
        int, typer.Option("--early-k", help="Early warning within this many messages")
    ] = defaults.EARLY_K,
    top: Annotated[int, typer.Option(help="Authors to show")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Risk per author with the messages that drove it."""
    from vigil.intel.chats.engines import CHAT_ENGINES
    from vigil.intel.chats.messages import load_chats

    loaded = load_chats(path, fmt)
    scorer = CHAT_ENGINES.get(engine)(model if engine == "model" else lexicon)
    _problems(loaded.problems)
    risks = scorer.score(loaded.messages, early_k)[:top]
    if as_json:
        console.print_json(
            json.dumps([r.__dict__ | {"drivers": [d.__dict__ for d in r.drivers]} for r in risks])
        )
        return
    for r in risks:
        flag = "[bold red]review[/]" if r.flagged else ""
        early = f", early warning at message {r.warned_at}" if r.early_warning else ""
        console.print(f"{r.score:.2f} {flag} [bold]{r.author}[/] ({r.messages} messages{early})")
        for d in r.drivers[:5]:
            console.print(f"    #{d.number} {d.timestamp} {d.text!r}  <- {'; '.join(d.reasons)}")


@chats_app.command("train")
def chats_train(
    path: Annotated[Path, typer.Argument(help="Training conversations")],
    predators: Annotated[Path, typer.Argument(help="Author ids to detect, one per line (PAN predator file)")],
    out: ModelOption,
    fmt: FormatOption = None,
) -> None:
    """Train the word n-gram engine on a labelled corpus you hold (e.g. PAN 2012 training set)."""
    from vigil.intel.chats.engines import ModelEngine
    from vigil.intel.chats.messages import load_author_ids, load_chats

    try:
        loaded = load_chats(path, fmt)
        engine = ModelEngine.train(loaded.messages, load_author_ids(predators))
    except OSError as exc:
        raise VigilError(f"cannot read: {exc}") from None
    _problems(loaded.problems)
    engine.model.save(out)
    console.print(
        f"model written to {out}: threshold {engine.threshold:.3f}, {engine.model.info['cross_validated']}"
    )


@chats_app.command("eval")
def chats_eval(
    path: Annotated[Path, typer.Argument(help="Test conversations")],
    predators: Annotated[Path, typer.Argument(help="Ground-truth author ids")],
    engine: Annotated[str, typer.Option(help="indicator or model")] = "indicator",
    model: Annotated[Path | None, typer.Option(help="Model file for --engine model")] = None,
    fmt: FormatOption = None,
) -> None:
    """PAN 2012 problem-1 metric: precision, recall, F0.5 of flagged authors."""
    from vigil.intel.chats.engines import CHAT_ENGINES, pan_metrics
    from vigil.intel.chats.messages import load_author_ids, load_chats

    try:
        loaded = load_chats(path, fmt)
        risks = CHAT_ENGINES.get(engine)(model).score(loaded.messages)
        truth = load_author_ids(predators)
    except OSError as exc:
        raise VigilError(f"cannot read: {exc}") from None
    m = pan_metrics({r.author for r in risks if r.flagged}, truth)
    console.print(
        f"flagged {m.flagged}, predators {m.predators}: precision {m.precision:.3f} "
        f"recall {m.recall:.3f} F0.5 {m.f05:.3f}"
    )
