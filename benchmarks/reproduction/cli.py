"""The command line of ``benchmarks/reproduce.py`` (also ``python -m benchmarks.reproduce``):
one parser; :func:`main` hands the runs to :mod:`.runner` and the documents to :mod:`.report`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import benchmarks.reproduction
from benchmarks.reproduction import report, runner
from benchmarks.reproduction.experiments import (
    LSPET_TABLES,
    MAX_SEEDS,
    SEEDED_LSPET_TABLES,
    TABLES,
)
from benchmarks.reproduction.paths import REPO
from benchmarks.reproduction.rundirs import best_real_photo_model


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=benchmarks.reproduction.__doc__.split("\n")[0])
    parser.add_argument("--table", default="all", choices=(*TABLES, "all"))
    parser.add_argument("--runs_dir", type=Path, default=REPO / "runs" / "results")
    parser.add_argument("--lspet_records", type=Path, default=REPO / "data" / "lspet")
    parser.add_argument("--synthetic_records", type=Path, default=REPO / "data" / "synthetic")
    parser.add_argument("--docs_dir", type=Path, default=REPO / "docs")
    parser.add_argument("--seeds", default="0,1", help="Seeds of every ablation row (comma list).")
    parser.add_argument(
        "--docs_only", action="store_true", help="Train and evaluate nothing; rewrite the docs."
    )
    parser.add_argument("--dry_run", action="store_true", help="Print the commands only.")
    parser.add_argument(
        "--rows", default="", help="Only these rows of the tables (comma list; default all)."
    )
    parser.add_argument(
        "--third_seed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"LSPET ablations ({', '.join(SEEDED_LSPET_TABLES)}): after --seeds, run one more "
        "seed of every row whose claim lies within the seed spread (up to "
        f"{MAX_SEEDS} seeds).",
    )
    parser.add_argument(
        "--gallery",
        action="store_true",
        help="Also draw the best real-photo model's predictions into docs/gallery/real_*.jpg "
        "(docs/gallery/make_gallery.sh).",
    )
    parser.add_argument(
        "--lspet_dir",
        type=Path,
        default=REPO.parent / "shared" / "data" / "lspet",
        help="Raw LSPET folder (images/, joints.mat); its parent holds samples/, for --gallery.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    except ValueError:
        parser.error(f"--seeds must be a comma list of integers, got {args.seeds!r}")
    if not seeds:
        parser.error("--seeds is empty")
    tables = TABLES if args.table == "all" else (args.table,)
    if not args.docs_only:
        runs_dir = args.runs_dir.resolve()
        rows = {row for row in args.rows.split(",") if row}
        for table in tables:
            real = table in LSPET_TABLES
            records = args.lspet_records if real else args.synthetic_records
            if real and not (records / "manifest.json").exists():
                parser.error(
                    f"--lspet_records={records} has no manifest.json; make it with "
                    "python -m tfpose.data.convert --dataset=lspet "
                    f"--data_dir=../shared/data/lspet --output_dir={records}"
                )
            runner.run_table(
                table,
                seeds,
                runs_dir,
                records.resolve(),
                rows=rows,
                third_seed=args.third_seed,
                dry_run=args.dry_run,
            )
    if args.gallery and not args.dry_run:
        model = best_real_photo_model(args.runs_dir.resolve())
        if model is None:
            parser.error("--gallery needs a finished real_photos run")
        runner.make_gallery(model, args.lspet_dir)
    if not args.dry_run:
        print(f"wrote {report.write_results(args.runs_dir.resolve(), args.docs_dir, seeds)}")
    return 0
