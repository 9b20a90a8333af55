"""The ledger CSV: one transaction per row; a malformed row is reported and skipped."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from vigil.core.errors import ItemError, VigilError

COLUMNS = ("id", "sender", "beneficiary", "corridor", "amount", "currency", "time", "channel", "reference")


class Transaction(NamedTuple):
    id: str
    sender: str
    beneficiary: str
    corridor: str  # ISO country code of the receiving side
    amount: float
    currency: str
    time: datetime
    channel: str  # e.g. remittance, card, wire, wallet
    reference: str


@dataclass
class Ledger:
    transactions: list[Transaction] = field(default_factory=list)
    problems: list[ItemError] = field(default_factory=list)


def read_ledger(path: Path) -> Ledger:
    """Columns by name (see COLUMNS; `id` optional, defaults to the line number)."""
    out = Ledger()
    append, parse = out.transactions.append, datetime.fromisoformat
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in COLUMNS[1:] if c not in header]
        if missing:
            raise VigilError(f"{path}: missing column(s) {', '.join(missing)}")
        at = {name: header.index(name) for name in COLUMNS if name in header}
        i_id = at.get("id")
        i_s, i_b, i_c, i_a, i_cur, i_t, i_ch, i_r = (at[c] for c in COLUMNS[1:])
        for line, row in enumerate(reader, start=2):
            try:
                append(
                    Transaction(
                        row[i_id] if i_id is not None else str(line),
                        row[i_s],
                        row[i_b],
                        row[i_c].strip().upper(),
                        float(row[i_a]),
                        row[i_cur],
                        parse(row[i_t]),
                        row[i_ch].strip().lower(),
                        row[i_r],
                    )
                )
            except (IndexError, ValueError) as exc:
                out.problems.append(ItemError(f"{path.name}:{line}", f"malformed transaction: {exc}"))
    return out


def write_ledger(path: Path, transactions: list[Transaction]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for t in transactions:
            writer.writerow(
                [
                    t.id,
                    t.sender,
                    t.beneficiary,
                    t.corridor,
                    f"{t.amount:.2f}",
                    t.currency,
                    t.time.isoformat(timespec="seconds"),
                    t.channel,
                    t.reference,
                ]
            )
