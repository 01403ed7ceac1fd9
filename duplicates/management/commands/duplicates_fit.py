"""``manage.py duplicates_fit PAIRS.jsonl… [--with-held-out]``: fit the score's weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from duplicates.evaluation import PairError, Scores, is_held_out, parse_pairs
from duplicates.tuning import fit, measure


class Command(BaseCommand):
    help = (
        "Fit the duplicate score's weights on labelled pairs (the duplicates_eval format; "
        "the held-out third is left out) and print them for duplicates/scoring.py, with "
        "the precision and recall they reach on those pairs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pairs", nargs="+", help="PAIRS.jsonl (several files are one set)")
        parser.add_argument("--with-held-out", action="store_true", help="fit on every pair")
        parser.add_argument("--rounds", type=int, default=4000)

    def handle(self, *args: Any, **options: Any) -> None:
        pairs, labels = [], []
        for name in options["pairs"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{path} does not exist; give the path of a PAIRS.jsonl file.")
            with path.open(encoding="utf-8") as lines:
                for number, item in parse_pairs(lines):
                    if isinstance(item, PairError):
                        self.stderr.write(f"{path}:{number}: skipped, {item}")
                    elif options["with_held_out"] or not is_held_out(item.id):
                        pairs.append((item.a, item.b))
                        labels.append(item.label)
        if len(set(labels)) < 2:
            raise CommandError("fitting needs duplicates and non-duplicates among the pairs.")
        measured = measure(pairs)
        result = fit(measured, labels, rounds=options["rounds"])
        self.stdout.write(f"BIAS = {result.bias}")
        self.stdout.write("WEIGHTS = {")
        for name, weight in result.weights.items():
            self.stdout.write(f'    "{name}": {weight},')
        self.stdout.write("}")
        scores = Scores()
        for m, label in zip(measured, labels, strict=True):
            scores.add(predicted=result.score(m) >= settings.DUPLICATES_THRESHOLD, label=label)
        self.stdout.write(f"pairs={len(labels)} (before the caps of scoring.compare)")
        self.stdout.write(scores.line())
