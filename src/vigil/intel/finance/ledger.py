"""The ledger CSV: one transaction per row; a malformed row is reported and skipped.

Times are read in the ledger's own time zone (`zone`): a time without an offset is that zone's local
time, and a time with an offset is converted to it, so "at night" means night where the customer is.
Amounts convert to the base currency through a rates file (`read_rates`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
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


def read_ledger(path: Path, zone: tzinfo | None = None) -> Ledger:
    """Columns by name (see COLUMNS; `id` optional, defaults to the line number). With `zone`, every
    time is in that zone (offset-less times are its local time); without, times stay as written."""
    out = Ledger()
    append, fromiso = out.transactions.append, datetime.fromisoformat

    def parse(text: str) -> datetime:
        moment = fromiso(text)
        if zone is None:
            return moment
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)

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


def read_rates(path: Path) -> dict[str, float]:
    """`currency,rate` rows: what one unit of the currency is worth in the ledger's base currency."""
    rates: dict[str, float] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [h.strip().lower() for h in next(reader, [])]
        if header[:2] != ["currency", "rate"]:
            raise VigilError(f"{path}: the first line must be 'currency,rate' (have {','.join(header)})")
        for line, row in enumerate(reader, start=2):
            try:
                currency, rate = row[0].strip().upper(), float(row[1])
            except (IndexError, ValueError):
                raise VigilError(f"{path}:{line}: not 'currency,rate': {','.join(row)[:60]!r}") from None
            if len(currency) != 3 or not currency.isalpha() or rate <= 0:
                raise VigilError(f"{path}:{line}: a rate needs a 3-letter currency and a positive number")
            rates[currency] = rate
    return rates
