"""threatexchange's local-file exchange, with a working append for sharing.

In threatexchange 1.2.17, `LocalFileSignalExchangeAPI.report_opinion` opens the file with mode "wta",
which Python rejects, and it seeks before the start of an empty file. Reading is unchanged: we inherit
`fetch_iter`, and write the same `signal_type signal` lines it reads, each once (so a retried share
is idempotent, as partners' opinion APIs are).
"""

from __future__ import annotations

from pathlib import Path

from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.impl.file_api import LocalFileSignalExchangeAPI
from threatexchange.signal_type.signal_base import SignalType


class AppendingFileExchange(LocalFileSignalExchangeAPI):
    def report_opinion(self, s_type: type[SignalType], signal: str, opinion: state.SignalOpinion) -> None:
        if opinion.category != state.SignalOpinionCategory.POSITIVE_CLASS or opinion.tags:
            raise NotImplementedError("a file exchange records positive opinions without tags only")
        path = Path(self.collab.filename)
        line = f"{s_type.get_name()} {signal}"
        held = path.read_text(encoding="utf-8") if path.exists() else ""
        if line in held.splitlines():
            return  # sent before (a retry after a crash between sending and confirming): once is enough
        with path.open("a", encoding="utf-8") as handle:
            handle.write(("\n" if held and not held.endswith("\n") else "") + line + "\n")
