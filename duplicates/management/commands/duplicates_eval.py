"""``manage.py duplicates_eval PAIRS.jsonl [--out DECISIONS.jsonl] [--part held-out|tuning]``:
measure detection, per ordered channel pair, with the reason for every missed duplicate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from duplicates.evaluation import (
    PairError,
    Scores,
    channel_recall,
    evaluate_pair,
    is_held_out,
    miss_reason,
    parse_pairs,
)

PARTS = ("all", "held-out", "tuning")


class Command(BaseCommand):
    help = (
        "Run the production duplicate detection over labelled ticket pairs (one JSON object "
        'a line: {"id", "a", "b", "label"}) inside rolled-back transactions; print recall '
        "per channel pair, why each duplicate was missed, which pairs were flagged wrongly, "
        "and (last line) precision, recall and F1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pairs", nargs="+", help="PAIRS.jsonl (several files are one set)")
        parser.add_argument("--out", help="write one decision a line (JSONL) to this file")
        parser.add_argument(
            "--part",
            choices=PARTS,
            default="all",
            help="only the held-out third (by a hash of the pair id) or only the rest",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scores = Scores()
        decisions = []
        for name in options["pairs"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{path} does not exist; give the path of a PAIRS.jsonl file.")
            with path.open(encoding="utf-8") as lines:
                for number, item in parse_pairs(lines):
                    if isinstance(item, PairError):
                        scores.errors.append(f"{path}:{number}: {item}")
                        self.stderr.write(f"{path}:{number}: skipped, {item}")
                        continue
                    if options["part"] != "all" and is_held_out(item.id) != (
                        options["part"] == "held-out"
                    ):
                        continue
                    decision = evaluate_pair(item)
                    scores.add(predicted=decision["predicted"], label=item.label)
                    decisions.append(decision)
        if options["out"]:
            with open(options["out"], "w", encoding="utf-8") as out:
                for decision in decisions:
                    out.write(json.dumps(decision, ensure_ascii=False) + "\n")
        if not decisions:
            raise CommandError("no valid pair in the file(s); see the line errors above.")
        self._report(decisions)
        self.stdout.write(
            f"pairs={len(decisions)} malformed={len(scores.errors)} tp={scores.tp} "
            f"fp={scores.fp} fn={scores.fn} tn={scores.tn}"
        )
        self.stdout.write(scores.line())

    def _report(self, decisions: list[dict[str, Any]]) -> None:
        threshold = settings.DUPLICATES_THRESHOLD
        self.stdout.write("recall per channel pair (first ticket -> second):")
        for channels, total, found, recall in channel_recall(decisions):
            self.stdout.write(f"  {channels:<16} {found:>3}/{total:<3} {recall:.2f}")
        missed = [d for d in decisions if d["label"] and not d["predicted"]]
        self.stdout.write(f"missed duplicates ({len(missed)}):")
        for decision in missed:
            self.stdout.write(
                f"  {decision['id']} ({decision['channels']}): {miss_reason(decision, threshold)}"
            )
        wrong = [d for d in decisions if d["predicted"] and not d["label"]]
        self.stdout.write(f"flagged but not duplicates ({len(wrong)}):")
        for decision in wrong:
            reasons = "; ".join(decision["reasons"])
            self.stdout.write(
                f"  {decision['id']} ({decision['channels']}): score {decision['score']:.2f}: "
                f"{reasons}"
            )
