"""The ``procrustean`` command: one subcommand per stage. Thin: parse, call, report errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from procrustean.errors import UserError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="procrustean", description=__doc__)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("validate", help="validate params.yaml against the schema")
    s.set_defaults(func=_validate)

    s = sub.add_parser("split", help="write an imbalanced split of a dataset")
    s.add_argument("--study", required=True)
    s.add_argument("--dataset", required=True)
    s.add_argument("--profile", required=True)
    s.add_argument("--ratio", required=True)
    s.add_argument("--out", required=True, help="split file (JSON)")
    s.add_argument("--summary", required=True, help="summary file (JSON)")
    s.set_defaults(func=_split)

    s = sub.add_parser("train", help="train one method on one split with one seed")
    s.add_argument("--study", required=True, help="study whose recipe to use")
    s.add_argument("--dataset", required=True)
    s.add_argument("--method", required=True)
    s.add_argument("--seed", required=True, type=int)
    s.add_argument("--split", required=True, help="split file from 'procrustean split'")
    s.add_argument("--checkpoint", required=True, help="final checkpoint to write")
    s.add_argument("--history", required=True, help="per-epoch history JSON to write")
    _device_args(s)
    s.set_defaults(func=_train)

    s = sub.add_parser("evaluate", help="evaluate a checkpoint on the balanced test set")
    s.add_argument("--dataset", required=True)
    s.add_argument("--split", required=True)
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--out", required=True, help="metrics JSON to write")
    _device_args(s)
    s.set_defaults(func=_evaluate)

    s = sub.add_parser("report", help="tables and figures of one study")
    s.add_argument("--study", required=True)
    s.set_defaults(func=_report)

    s = sub.add_parser("audit", help="re-hash an output and everything it was made from")
    s.add_argument("path", help="a table, metrics file, history or checkpoint")
    s.set_defaults(func=_audit)

    s = sub.add_parser("dvc-commit", help="record in dvc.lock the stages whose outputs exist")
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
        type=int,
        default=None,
        help="CPU threads (default: the recipe's resources.cpus)",
    )


def _train(args: argparse.Namespace) -> None:
    from procrustean.config import load_params, lookup
    from procrustean.train import TrainJob, train

    params = load_params(args.params)
    study = lookup(params, "studies", args.study)
    job = TrainJob(
        args.dataset,
        lookup(params, "datasets", args.dataset),
        study["recipe"],
        lookup(params, "recipes", study["recipe"]),
        args.method,
        lookup(params, "methods", args.method),
        args.seed,
        args.split,
        args.checkpoint,
        args.history,
        args.device,
        args.threads,
    )
    trainer = train(job)
    print(
        f"trained {args.method} seed {args.seed} on {args.split}: {trainer.epoch} epochs "
        f"-> {args.checkpoint}"
    )


def _evaluate(args: argparse.Namespace) -> None:
    from procrustean.config import load_params, lookup
    from procrustean.evaluate import evaluate

    params = load_params(args.params)
    m = evaluate(
        args.dataset,
        lookup(params, "datasets", args.dataset),
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
    print(f"{args.params}: valid ({', '.join(f'{len(params[k])} {k}' for k in params)})")


def _split(args: argparse.Namespace) -> None:
    from procrustean.stages import run_split

    split = run_split(
        args.params, args.study, args.dataset, args.profile, args.ratio, args.out, args.summary
    )
    print(
        f"split {args.dataset} {split['profile']} ratio {split['ratio']}: "
        f"{split['num_train']} images, counts {split['class_counts']} -> {args.out}"
    )


def _report(args: argparse.Namespace) -> None:
    from procrustean.report import build_report

    outputs = build_report(args.params, args.study)
    print(f"report {args.study}: {len(outputs)} files under results/{args.study}/")


def _audit(args: argparse.Namespace) -> None:
    from procrustean.audit import audit

    report = audit(args.path)
    print("\n".join(report.lines))
    if report.mismatches:
        raise UserError(
            f"audit failed: {report.mismatches[0]} ({len(report.mismatches)} mismatches "
            f"in {report.files} files); re-run the stage that makes it"
        )
    print(f"audit ok: {report.files} files re-hashed, all match their records")


def _dvc_commit(args: argparse.Namespace) -> None:
    from procrustean.config import load_params
    from procrustean.dvcsync import commit_completed

    names = commit_completed(
        load_params(args.params), dry_run=args.dry_run, everything=args.everything
    )
    print(f"dvc: {'would commit' if args.dry_run else 'committed'} {len(names)} stages")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; bad input becomes one line on stderr and exit status 2."""
    args = _parser().parse_args(argv)
    try:
        args.func(args)
    except UserError as exc:
        print(f"procrustean {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"procrustean {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
