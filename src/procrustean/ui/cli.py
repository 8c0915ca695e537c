"""procrustean: reproduce "Procrustean Training for Imbalanced Deep Learning" (ICCV 2021).

One subcommand per stage (split, train, evaluate, report), which Snakemake's rules and DVC's
stages call, and one per check (validate, status, audit, compare, verify). Every stage writes a
provenance record beside its outputs (*.prov.json). Bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from procrustean.errors import UserError
from procrustean.params_rules import MAX_SEED

PARAMS_ENV = "PROCRUSTEAN_PARAMS_FILE"


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; every option with a default shows it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _int_in(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is outside {lo}..{hi}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="procrustean", description=__doc__)
    p.add_argument(
        "--params",
        default=os.environ.get(PARAMS_ENV, "params.yaml"),
        help=f"params file (default: ${PARAMS_ENV} if set, which the Snakefile sets for runs "
        "with --config/--configfile overrides, else params.yaml)",
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser(
        "validate",
        help="validate params.yaml against the schema",
        description="Checks params.yaml against workflow/schemas/params.schema.yaml and the "
        "rules no schema can say (names that exist, splits that leave every class an image, "
        "batches no larger than the smallest split). Writes nothing. Exit 0: valid; 2: the "
        "first problem, as one line naming the key and how to fix it.",
    )
    s.set_defaults(func=_validate)

    s = sub.add_parser(
        "split",
        help="write an imbalanced split of a dataset",
        description="Writes the split (kept training indices, class counts) to --out, a short "
        "summary to --summary and a provenance record beside --out.",
    )
    s.add_argument("--study", required=True, help="study in params.yaml (its minor_fraction)")
    s.add_argument("--dataset", required=True, help="dataset in params.yaml")
    s.add_argument(
        "--profile",
        required=True,
        metavar="{exp,step,balanced}",
        help="exp or step imbalance, or balanced (every class at the step profile's minor count: a control)",
    )
    s.add_argument("--ratio", required=True, help="imbalance ratio n_max/n_min, e.g. 100")
    s.add_argument("--out", required=True, help="split file (JSON)")
    s.add_argument("--summary", required=True, help="summary file (JSON)")
    s.set_defaults(func=_split)

    s = sub.add_parser(
        "run-config",
        help="validate params.yaml, then write the study's key files for DVC",
        description="Validates params.yaml (refusing bad params before any other stage of the "
        "study runs: every one depends on this one), then writes one JSON file per stage "
        "group under results/<study>/config/: the params the stage records and the sha256 of "
        "its code (procrustean.checks.freshness). Only changed files are rewritten.",
    )
    s.add_argument("--study", required=True, help="study in params.yaml")
    s.set_defaults(func=_run_config)

    s = sub.add_parser(
        "dvc-yaml",
        help="regenerate dvc.yaml from params.yaml's studies and the code",
        description="DVC cannot iterate over studies, so dvc.yaml holds one split, train and "
        "evaluate group per study, and one judge stage per analysis file (analyses/*.yaml).  This writes the whole file (run it after adding or removing "
        "a study or a stage's source file); --check only says whether it is current (one line "
        "and exit 2 if not; CI runs it).",
    )
    s.add_argument("--check", action="store_true", help="check only; change nothing")
    s.set_defaults(func=_dvc_yaml)

    s = sub.add_parser(
        "train",
        help="train one method on one split with one seed",
        description="Trains with the study's recipe, writing the final checkpoint, the per-epoch "
        "history (clean training accuracy, held-out accuracy, feature gradients, minor-to-major "
        "predictions per class) and a provenance record. Resumes from <checkpoint>.resume.pt "
        "when one of the same run exists; progress lines go to stderr.",
    )
    s.add_argument("--study", required=True, help="study in params.yaml whose recipe to use")
    s.add_argument("--dataset", required=True, help="dataset in params.yaml")
    s.add_argument("--method", required=True, help="method in params.yaml")
    s.add_argument(
        "--seed", required=True, type=_int_in(0, MAX_SEED), help=f"training seed, 0..{MAX_SEED}"
    )
    s.add_argument("--split", required=True, help="split file from 'procrustean split'")
    s.add_argument("--checkpoint", required=True, help="final checkpoint to write")
    s.add_argument("--history", required=True, help="per-epoch history JSON to write")
    s.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="write per-epoch TensorBoard scalars to DIR (when the recipe's tensorboard is on)",
    )
    _device_args(s)
    s.set_defaults(func=_train)

    s = sub.add_parser(
        "evaluate",
        help="evaluate a checkpoint on the balanced test set",
        description="Writes top-1, per-class and per-group test accuracy (metrics JSON) and a "
        "provenance record beside it.",
    )
    s.add_argument("--dataset", required=True, help="dataset in params.yaml (its test set)")
    s.add_argument("--split", required=True, help="the split the checkpoint was trained on")
    s.add_argument("--checkpoint", required=True, help="final checkpoint from 'procrustean train'")
    s.add_argument("--out", required=True, help="metrics JSON to write")
    _device_args(s)
    s.set_defaults(func=_evaluate)

    s = sub.add_parser(
        "report",
        help="tables and figures of one study",
        description="Reads every run's metrics and history; writes results/<study>/tables/ "
        "(md, tex, csv), figures/, plots/ and summary.json, with a provenance record.",
    )
    s.add_argument("--study", required=True, help="study in params.yaml")
    s.set_defaults(func=_report)

    s = sub.add_parser(
        "judge",
        help="judge registered analyses (analyses/NAME.yaml): verdicts, sensitivity, grid",
        description="Reads results/<study>/tables/runs.csv and curves.csv.gz of each finished "
        "study an analysis names (its pending studies' tests read 'pending' and count as p = 1 "
        "in Holm's families) and judges its tests by its rule set (preregistered or revised); "
        "writes results/NAME/ with a provenance record. Without NAME, every analysis, each "
        "after those its grid joins. An analysis is a file: docs/analyses.md.",
    )
    s.add_argument("names", nargs="*", metavar="NAME", help="analysis (default: all)")
    s.add_argument(
        "--study",
        action="append",
        dest="studies",
        help="preregistered rules only: a study whose runs to include (repeatable; default: "
        "the analysis's finished studies; the others count as pending)",
    )
    s.set_defaults(func=_judge)

    s = sub.add_parser(
        "index",
        help="regenerate results/README.md: every study and analysis, the claim x setting grids",
        description="Writes results/README.md from params.yaml, analyses/ and the judged "
        "verdicts: per analysis its question, rules, studies and verdict files; the grids its "
        "judging wrote; per study its setting, runs, readers, tables and figures. --check only "
        "says whether it is current (one line and exit 2 if not; CI runs it).",
    )
    s.add_argument("--check", action="store_true", help="check only; change nothing")
    s.set_defaults(func=_index)

    s = sub.add_parser(
        "audit",
        help="re-hash an output and everything it was made from",
        description="Exit 0: every file matches its record; 1: a file present here differs from "
        "its record; 3: nothing contradicts the records but some files are absent here "
        "(unverified); 2: bad input.",
    )
    s.add_argument("path", help="a table, metrics file, history or checkpoint")
    s.add_argument(
        "--rederive",
        action="store_true",
        help="re-derive the absent files in a scratch clone and check them against their records",
    )
    s.add_argument("--cores", default="all", help="cores for --rederive (default: all)")
    s.set_defaults(func=_audit)

    s = sub.add_parser(
        "status",
        help="every output that is out of date (params, inputs, code, absent) and the command "
        "that brings it up to date",
        description="The content rule Snakemake and DVC also apply: an output is current when "
        "its provenance record names the params, inputs and code this tree would use. Exit 0: "
        "everything asked about is current; 1: something is out of date; 2: bad input.",
    )
    s.add_argument(
        "--study",
        action="append",
        help="only this study (repeatable; default: all, then each analysis's judge stage)",
    )
    s.add_argument("--all", action="store_true", help="list every out-of-date stage")
    s.add_argument(
        "--allow-missing",
        action="store_true",
        help="what git records counts as done: a stage whose committed record matches counts "
        "as current although its DVC-cached files (splits, checkpoints) are absent here",
    )
    s.add_argument(
        "--compute",
        action="store_true",
        help="also the compute the provenance records report: job-hours per kind of stage, "
        "the busy wall time, and where train and evaluate ran (device, CPU mode, platform)",
    )
    s.add_argument(
        "--runs-left",
        action="store_true",
        help="instead, the metrics files still to make or to commit (untracked or modified in "
        "git), one line per setting and seed (the paired methods together), seed by seed: the "
        "targets scripts/train-and-commit.sh hands to Snakemake; exit 0 (the list is the answer)",
    )
    s.add_argument(
        "--shard",
        type=_shard,
        default=(1, 1),
        metavar="I/N",
        help="with --runs-left: the I-th of every N of the study's settings and seeds, counted "
        "over all of them (done or not), so copies started at different times never overlap",
    )
    s.set_defaults(func=_status)

    s = sub.add_parser(
        "compare",
        help="a study's metrics and histories against the committed versions, and whether its "
        "conclusions hold",
        description="Compares each run's metrics and history with the committed ones (--rev) "
        "and judges the conclusions from the report tables here against the committed ones: "
        "every claim keeps its verdict (claims.csv), every paired mean lies inside its "
        "committed 95% interval (paired.csv; exact where n < 2), every run's |top-1 drift| "
        "<= 2 committed sd_seed of its setting and method (spread.csv). Exit 0: byte-identical; "
        "3: conclusions reproduced (bytes differ, numbers drifted within those tolerances); "
        "1: conclusions differ, or bytes differ and there are no fresh report tables to judge "
        "them; 2: bad input.",
    )
    s.add_argument("studies", nargs="+", metavar="STUDY", help="study in params.yaml")
    s.add_argument("--rev", default="HEAD", help="git revision to compare with (default: HEAD)")
    s.set_defaults(func=_compare)

    s = sub.add_parser(
        "verify",
        help="re-derive a study's committed numbers in a scratch clone and compare",
        description="Clones HEAD, re-derives the study there from the raw data (Snakemake's "
        "output goes to logs/verify-snakemake.log in the clone; a line per finished job "
        "here), then compares as 'procrustean compare' does. Exit 0: byte-identical; 3: "
        "conclusions reproduced (bytes differ, every claim keeps its verdict, every paired "
        "mean inside its committed 95% interval, every run's |top-1 drift| <= 2 committed "
        "sd_seed); 1: conclusions differ (a run missing after the re-derivation included); "
        "2: bad input or a failed re-derivation.",
    )
    s.add_argument("study", help="study in params.yaml")
    s.add_argument("--cores", default="all", help="cores for the re-derivation (default: all)")
    s.add_argument("--scratch", help="folder for the scratch clone (default: a temporary one)")
    s.add_argument("--keep", action="store_true", help="keep the scratch clone")
    s.set_defaults(func=_verify)

    s = sub.add_parser(
        "accept-code",
        help="accept a committed stage-code change as equivalent, after a study re-derives "
        "byte for byte under it",
        description="For a change of stage code that must not change any output (a refactor, "
        "a new option whose default keeps today's behaviour): re-derives the study from the raw "
        "data in a scratch clone of HEAD and checks every output (splits and checkpoints "
        "included) against the sha256 its committed record holds. Only when all match is the "
        "change appended to results/code_lineage.json; commit that file, and every record made "
        "by the old code counts as current for Snakemake, DVC and 'procrustean status'. Exit 2 "
        "and nothing written when any output differs.",
    )
    s.add_argument("study", nargs="?", default="quick", help="study to re-derive (default: quick)")
    s.add_argument("--why", required=True, help="what the change does and why it keeps the bytes")
    s.add_argument("--cores", default="all", help="cores for the re-derivation (default: all)")
    s.add_argument("--plan", action="store_true", help="say what would be accepted; run nothing")
    s.add_argument("--keep", action="store_true", help="keep the scratch clone")
    s.set_defaults(func=_accept_code)

    s = sub.add_parser(
        "after-run",
        help="bookkeeping after a Snakemake run (dvc.lock, comparison); never fails",
        description="Called by the Snakefile when a run succeeds: records the stages it made "
        "in dvc.lock (in a git checkout) and compares the studies it touched with the committed "
        "numbers. Prints what it did; always exits 0.",
    )
    s.add_argument("--since", type=float, required=True, help="the run's start (Unix time)")
    s.set_defaults(func=_after_run)

    s = sub.add_parser(
        "dvc-commit",
        help="record in dvc.lock the stages whose outputs exist",
        description="Runs 'dvc commit' for the stages whose outputs are complete and current, so "
        "work done by Snakemake counts for 'dvc status' and 'dvc repro'.",
    )
    s.add_argument("--dry-run", action="store_true", help="list the stages, commit nothing")
    s.add_argument(
        "--all",
        action="store_true",
        dest="everything",
        help="every complete stage, not only those changed since dvc.lock",
    )
    s.set_defaults(func=_dvc_commit)
    return p


def _device_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda[:N]")
    s.add_argument(
        "--threads",
        type=_int_in(1, 1024),
        default=None,
        help="CPU threads (default: the recipe's resources.cpus)",
    )


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _train(args: argparse.Namespace) -> None:
    from procrustean.config import load_params
    from procrustean.engines.placement import acquire, should_place
    from procrustean.train import TrainJob, train
    from procrustean.ui.progress import Progress
    from procrustean.ui.scalars import ScalarLog

    params = load_params(args.params)
    recipe = params.study_recipe(args.study)
    job = TrainJob(
        dataset=params.dataset(args.dataset),
        recipe=recipe,
        method=params.method(args.method),
        seed=args.seed,
        params_file=params.source,
        split_path=args.split,
        checkpoint=args.checkpoint,
        history=args.history,
        device=args.device,
        threads=args.threads,
    )
    # Before anything touches CUDA: pick this run's GPU (slot held until the process exits).
    slot = (
        acquire(recipe.resources.runs_per_gpu, say=_stderr) if should_place(args.device) else None
    )
    observers = [Progress(sys.stderr), ScalarLog(args.tensorboard if recipe.tensorboard else None)]
    trainer = train(job, observers)
    where = f" on {slot.describe()}" if slot else ""
    print(
        f"trained {args.method} seed {args.seed} on {args.split}: {trainer.epoch} epochs "
        f"-> {args.checkpoint}{where}"
    )


def _evaluate(args: argparse.Namespace) -> None:
    from procrustean.config import load_params
    from procrustean.evaluate import evaluate

    m = evaluate(
        load_params(args.params),
        args.dataset,
        args.split,
        args.checkpoint,
        args.out,
        args.device,
        args.threads,
    )
    print(
        f"top-1 {m['top1']:.2f}% "
        + " ".join(f"{g} {v:.2f}" for g, v in m["groups"].items() if v is not None)
        + f" -> {args.out}"
    )


def _validate(args: argparse.Namespace) -> None:
    from procrustean.config import load_params

    params = load_params(args.params)
    counts = {k: len(getattr(params, k)) for k in ("datasets", "recipes", "methods", "studies")}
    print(f"{args.params}: valid ({', '.join(f'{n} {k}' for k, n in counts.items())})")


def _split(args: argparse.Namespace) -> None:
    from procrustean.config import load_params
    from procrustean.data.split import parse_ratio, run_split
    from procrustean.params_rules import check_split_request

    params, ratio = load_params(args.params), parse_ratio(args.ratio)
    check_split_request(params, args.study, args.dataset, args.profile, ratio)
    split = run_split(params, args.study, args.dataset, args.profile, ratio, args.out, args.summary)
    commit_split_record(args.out, args.summary)
    print(
        f"split {args.dataset} {split['profile']} ratio {split['ratio']}: "
        f"{split['num_train']} images, counts {split['class_counts']} -> {args.out}"
    )


def commit_split_record(split: str, summary: str) -> None:
    """Copy the split's provenance record (DVC caches it beside the split) next to the committed
    summary, so that git holds it: what lets allow-missing count the split as recorded."""
    from procrustean.fileio import atomic_path
    from procrustean.paths import PROV

    with atomic_path(summary + PROV) as tmp:
        tmp.write_bytes(Path(split + PROV).read_bytes())


def _run_config(args: argparse.Namespace) -> None:
    from procrustean.config import load_params
    from procrustean.engines import dvc_yaml
    from procrustean.engines.run_config import write_run_configs
    from procrustean.paths import run_config_dir

    params = load_params(args.params)
    dvc_yaml.check(params)
    done = write_run_configs(params, args.study)
    total = len(done.written) + len(done.unchanged)
    print(
        f"run-config {args.study}: {total} files ({len(done.written)} written, "
        f"{len(done.unchanged)} unchanged, {len(done.removed)} removed) under "
        f"{run_config_dir(args.study)}/"
    )


def _dvc_yaml(args: argparse.Namespace) -> None:
    from procrustean.config import load_params
    from procrustean.engines import dvc_yaml

    params = load_params(args.params)
    if args.check:
        dvc_yaml.check(params)
        print(f"{dvc_yaml.DVC_YAML}: current ({len(params.studies)} studies)")
        return
    changed = dvc_yaml.write(params)
    state = "rewritten" if changed else "already current"
    print(f"{dvc_yaml.DVC_YAML}: stage groups for {', '.join(params.studies)} {state}")


def _report(args: argparse.Namespace) -> None:
    from procrustean.config import load_params
    from procrustean.report import build_report

    outputs = build_report(load_params(args.params), args.study)
    print(f"report {args.study}: {len(outputs)} files under results/{args.study}/")


def _judge(args: argparse.Namespace) -> None:
    import pandas as pd

    from procrustean import verdict_files
    from procrustean.analyses import judge_order, load, names
    from procrustean.config import load_params
    from procrustean.report.index import verdict_counts
    from procrustean.report.judge import write

    params = load_params(args.params)
    wanted = args.names or names()
    analyses = [load(n, params) for n in judge_order(wanted, params)]
    if args.studies and (len(analyses) != 1 or analyses[0].rules != "preregistered"):
        raise UserError("--study goes with one analysis of the preregistered rules")
    for analysis in analyses:
        studies = tuple(args.studies) if args.studies else None
        outputs = write(params, analysis, studies)
        rows = len(pd.read_csv(verdict_files.long_path(analysis.name)))
        counts = f"{rows} claim x setting rows: {verdict_counts(analysis)}"
        print(f"judge {analysis.name}: {len(outputs)} files under {analysis.output_dir}/; {counts}")


def _index(args: argparse.Namespace) -> None:
    from procrustean.config import load_params
    from procrustean.report.index import INDEX, write

    changed = write(load_params(args.params), check=args.check)
    print(f"{INDEX}: {'current' if args.check else 'rewritten' if changed else 'current'}")


def _audit(args: argparse.Namespace) -> int:
    from procrustean.checks.audit import audit, summary_lines

    report = audit(args.path)
    print("\n".join(report.lines))
    if args.rederive:
        from procrustean.checks.verify import rederive_absent

        for line in rederive_absent(report, args.cores):
            print(line)
    for line in summary_lines(report):
        print(line, file=sys.stderr if report.exit_code else sys.stdout)
    return report.exit_code


def _shard(text: str) -> tuple[int, int]:
    """``I/N`` with 1 <= I <= N, for --shard."""
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise argparse.ArgumentTypeError(f"'{text}': give I/N with 1 <= I <= N, e.g. 1/2 and 2/2")
    return int(index), int(count)


def _status(args: argparse.Namespace) -> int:
    from procrustean.checks.status import design_status, study_status, uncommitted_files
    from procrustean.config import load_params

    if args.shard != (1, 1) and not args.runs_left:
        raise UserError("--shard goes with --runs-left (the runs left, shared among copies)")
    if args.runs_left and (args.all or args.compute):
        raise UserError("--runs-left answers alone: drop --all and --compute, or ask them apart")
    params = load_params(args.params)
    results = study_status(params, args.study, args.allow_missing)
    if args.runs_left:
        for result in results:
            runs = [f"results/{result.study}/{kind}" for kind in ("metrics", "history")]
            for pair in result.runs_left(args.shard, uncommitted_files(runs)):
                print(" ".join(pair))
        return 0
    for result in results:
        print("\n".join(result.lines(limit=10**9 if args.all else 8)))
        if args.compute:
            print("\n".join(result.compute_lines()))
    designs = [] if args.study else design_status(params, args.allow_missing)
    for design in designs:
        print("\n".join(design.lines()))
    return 1 if any(r.stale for r in (*results, *designs)) else 0


def _compare(args: argparse.Namespace) -> int:
    from procrustean.checks.compare import compare_study, worst_exit
    from procrustean.config import load_params

    params = load_params(args.params)
    codes = []
    for study in args.studies:
        result = compare_study(params, study, rev=args.rev)
        print("\n".join(result.lines()))
        codes.append(result.exit_code)
    return worst_exit(codes)


def _verify(args: argparse.Namespace) -> int:
    from procrustean.checks.verify import verify

    result = verify(args.study, args.params, args.cores, args.scratch, args.keep)
    print("verify " + "\n".join(result.lines()))
    return result.exit_code


def _accept_code(args: argparse.Namespace) -> None:
    from procrustean.checks.accept_code import accept_code

    lines = accept_code(args.study, args.why, args.params, args.cores, args.plan, args.keep)
    print("\n".join(lines))


def _dvc_commit(args: argparse.Namespace) -> None:
    from procrustean.config import load_params
    from procrustean.engines.dvcsync import commit_completed

    result = commit_completed(
        load_params(args.params), dry_run=args.dry_run, everything=args.everything
    )
    print(result.line(args.dry_run))


def _after_run(args: argparse.Namespace) -> int:
    from procrustean.engines.after_run import after_run

    after_run(args.params, args.since)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; bad input becomes one line on stderr and exit status 2."""
    args = _parser().parse_args(argv)
    try:
        code = args.func(args) or 0
        sys.stdout.flush()  # inside the try: a reader that went away is met here, not at exit
        return code
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except UserError as exc:
        print(f"procrustean {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the machine, not the code: a file system or device refused
        print(
            f"procrustean {args.command}: error: {exc.__class__.__name__}: {exc}; check the "
            "paths and the disk",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"procrustean {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
