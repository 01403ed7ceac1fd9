"""``manage.py duplicates_eval PAIRS.jsonl [--out DECISIONS.jsonl]``: measure detection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from duplicates.evaluation import PairError, Scores, evaluate_pair, parse_pairs


class Command(BaseCommand):
    help = (
        "Run the production duplicate detection over labelled ticket pairs (one JSON object "
        'a line: {"id", "a", "b", "label"}) inside rolled-back transactions and print '
        "precision, recall and F1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pairs", help="PAIRS.jsonl")
        parser.add_argument("--out", help="write one decision a line (JSONL) to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["pairs"])
        if not path.is_file():
            raise CommandError(f"{path} does not exist; give the path of a PAIRS.jsonl file.")
        scores = Scores()
        decisions = []
        with path.open(encoding="utf-8") as lines:
            for number, item in parse_pairs(lines):
                if isinstance(item, PairError):
                    scores.errors.append(f"line {number}: {item}")
                    self.stderr.write(f"{path}:{number}: skipped, {item}")
                    continue
                decision = evaluate_pair(item)
                scores.add(predicted=decision["predicted"], label=item.label)
                decisions.append(decision)
        if options["out"]:
            with open(options["out"], "w", encoding="utf-8") as out:
                for decision in decisions:
                    out.write(json.dumps(decision, ensure_ascii=False) + "\n")
        if not decisions:
            raise CommandError(f"no valid pair in {path}; see the line errors above.")
        self.stdout.write(
            f"pairs={len(decisions)} malformed={len(scores.errors)} tp={scores.tp} "
            f"fp={scores.fp} fn={scores.fn} tn={scores.tn}"
        )
        self.stdout.write(scores.line())
