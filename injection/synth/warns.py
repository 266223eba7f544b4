"""Warnings of a synthesis run, worded so that their number stays small on any graph.

Three sorts, because a graph with thousands of open relations would otherwise print one line per
relation:

* **counted messages** (:meth:`Warnings.add`): one line per message with its count ("... (12×)");
* **notes** (:meth:`Warnings.note`): a fact about the run, recorded once however often it is noted;
* **relation issues** (:meth:`Warnings.relation`): a problem of a relation. Each schema relation gets
  its own line (the schema can be fixed); all open relations share one line with totals, and their
  names are kept for the dataset card (:meth:`Warnings.relations`).

Generators run in several processes (see :meth:`Context.units`); :meth:`Warnings.merge` adds the
workers' warnings up. Counted messages must therefore be added once per generated unit, and anything
that every worker does alike (building caches, global selection) uses notes or noted relation issues,
which merge by union: the result is the same for any number of workers.
"""

from __future__ import annotations

from collections import Counter


class Warnings(Counter):
    """Warnings of one run. As a :class:`Counter` it holds the counted messages (message -> count)."""

    def __init__(self, *args, **kwargs) -> None:
        self.notes: dict[str, None] = {}
        # (message, unit, counted, open) -> relation -> number
        self.issues: dict[tuple[str, str, bool, bool], dict[str, int]] = {}
        super().__init__(*args, **kwargs)

    def __reduce__(self):
        # Counter pickles its counts only; worker processes send the notes and issues back too
        return self.__class__, (dict(self),), {"notes": self.notes, "issues": self.issues}

    def add(self, message: str, n: int = 1) -> None:
        """Count ``n`` occurrences of ``message``."""
        self[message] += n

    def note(self, message: str) -> None:
        """Record ``message`` once (noting it again changes nothing)."""
        self.notes[message] = None

    def relation(self, message: str, predicate: str, n: int, *, open: bool, unit: str = "facts",
                 counted: bool = False) -> None:
        """Record an issue of relation ``predicate``.

        Args:
            message: what is wrong and what was done about it, without the relation.
            predicate: the relation.
            n: how many ``unit`` it concerns.
            open: an open relation (summed up with the others) rather than a schema one.
            unit: what ``n`` counts, for the line.
            counted: ``n`` adds up over calls (occurrences); else it is the relation's total (e.g. its
                fact count), recorded once.
        """
        per = self.issues.setdefault((message, unit, counted, open), {})
        per[predicate] = per.get(predicate, 0) + n if counted else n

    def merge(self, other: Warnings) -> None:
        """Add ``other``'s warnings (a worker's) to these."""
        self.update(other)
        self.notes.update(other.notes)
        for key, per in other.issues.items():
            mine = self.issues.setdefault(key, {})
            for predicate, n in per.items():
                mine[predicate] = mine.get(predicate, 0) + n if key[2] else n

    def lines(self) -> list[str]:
        """One line per counted message, note, schema-relation issue and open-relation issue.

        Most frequent first, ties alphabetically, so the order depends on nothing but the counts.
        """
        entries = [(n, f"{message} ({n:,}×)") for message, n in self.items() if n]
        entries += [(1, message) for message in self.notes]
        for (message, unit, _, open_), per in self.issues.items():
            if open_:
                total, plural = sum(per.values()), "s" if len(per) != 1 else ""
                line = f"{message} — open relations ({total:,} {unit}, {len(per):,} relation{plural})"
                entries.append((total, line))
            else:
                entries += [(n, f"{message} — relation {p!r} ({n:,} {unit})") for p, n in per.items()]
        return [line for _, line in sorted(entries, key=lambda e: (-e[0], e[1]))]

    def relations(self) -> dict[str, dict[str, int]]:
        """The open relations behind each summed-up line: line prefix -> relation -> number, largest first."""
        return {f"{message} — open relations": dict(sorted(per.items(), key=lambda kv: (-kv[1], kv[0])))
                for (message, _, _, open_), per in sorted(self.issues.items()) if open_}


__all__ = ["Warnings"]
