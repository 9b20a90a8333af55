"""Case summaries (HTML with print styles, so a browser's print-to-PDF gives the paper copy) and CSV."""

from __future__ import annotations

import csv
from pathlib import Path

from jinja2 import Environment, select_autoescape

from vigil.sources.triage.assess import CasePriority
from vigil.sources.triage.pipeline import TriageResult

_ENV = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
CASE_TEMPLATE = _ENV.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Case {{ case_id }}</title>
<style>
body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1.2em; }
th, td { border: 1px solid #999; padding: .25em .4em; text-align: left; vertical-align: top; font-size: 10pt; }
code { font-size: 9pt; word-break: break-all; }
.missing { color: #8a1c00; }
@media print { body { margin: 0; } section { page-break-inside: avoid; } }
</style></head><body>
<h1>Case {{ case_id }} &middot; priority {{ "%.1f"|format(p.score) }}</h1>
<p>{{ reports|length }} report(s){% if duplicates %}, {{ duplicates }} duplicate(s) merged{% endif %}.
{% if p.reasons %}<strong>Escalation: {{ p.reasons|join(", ") }}</strong>{% endif %}</p>
<table><tr>{% for k in p.parts %}<th>{{ k }}</th>{% endfor %}</tr>
<tr>{% for v in p.parts.values() %}<td>{{ "%.1f"|format(v) }}</td>{% endfor %}</tr></table>
{% for a in reports %}
<section><h2>Report {{ a.report.report_id }}{% if a.dup %} (duplicate of {{ a.dup }}){% endif %}</h2>
<table>
<tr><th>source</th><td>{{ a.report.source }}</td><th>incident</th><td>{{ a.report.incident_time or "" }}</td></tr>
<tr><th>service</th><td>{{ a.report.esp }}</td><th>jurisdiction hint</th><td>{{ a.jurisdiction or "unknown" }}</td></tr>
<tr><th>accounts</th><td>{{ a.report.accounts|join(", ") }}</td><th>e-mails</th><td>{{ a.report.emails|join(", ") }}</td></tr>
<tr><th>actionability</th><td>{{ a.actionability }}/100, {{ "actionable" if a.actionable else "not actionable" }}</td>
<th>missing</th><td class="missing">{% for m in a.missing %}{{ m.add }}<br>{% endfor %}</td></tr>
<tr><th>age</th><td>{{ "in doubt: " ~ a.age_why if a.age_in_doubt else a.age_why }}</td>
<th>service escalation</th><td>{{ a.report.escalation }}</td></tr>
{% if a.report.phones or a.report.urls %}<tr><th>phones</th><td>{{ a.report.phones|join(", ") }}</td>
<th>URLs</th><td>{% for u in a.report.urls %}<code>{{ u }}</code><br>{% endfor %}</td></tr>{% endif %}
{% if a.report.linked_accounts or a.report.recipients %}<tr><th>linked accounts</th>
<td>{{ a.report.linked_accounts|join(", ") }}</td><th>intended recipients</th>
<td>{{ a.report.recipients|join(", ") }}</td></tr>{% endif %}
{% if a.report.device_ids %}<tr><th>device ids</th><td colspan="3">{{ a.report.device_ids|join(", ") }}</td></tr>{% endif %}
{% if a.report.problems %}<tr><th>unusable values</th><td colspan="3" class="missing">
{{ a.report.problems|join("; ") }}</td></tr>{% endif %}
</table>
{% if a.report.ip_events %}<table><tr><th>IP</th><th>time</th><th>port</th><th>event</th><th>note</th></tr>
{% for e in a.report.ip_events %}<tr><td>{{ e.ip }}</td><td>{{ e.time or "" }}</td><td>{{ e.port or "" }}</td>
<td>{{ e.event }}</td><td>{% if e.possible_proxy %}service: possible proxy{% elif e.ip in a.shared_ips %}VPN/hosting/shared range{% endif %}</td></tr>{% endfor %}</table>{% endif %}
{% if a.report.files %}<table><tr><th>file</th><th>hashes</th><th>lists</th><th>category</th><th>file included</th></tr>
{% for f, s in a.file_rows %}<tr><td>{{ f.name or "" }}{% if f.annotations %}<br><small>{{ f.annotations|join(", ") }}</small>{% endif %}</td>
<td>{% for k, v in f.hashes.items() %}<code>{{ k }} {{ v }}</code><br>{% endfor %}
{% for k, v in f.other_hashes %}<code>{{ k }} {{ v }}</code> (not matched)<br>{% endfor %}</td>
<td>{{ s.lists|join(", ") if s.known else "new (not on any list)" }}</td><td>{{ f.category or s.category or "" }}</td>
<td>{{ "yes" if f.attached else "no" }}</td></tr>{% endfor %}</table>{% endif %}
</section>
{% endfor %}
{% if links %}<h2>Why these reports are linked</h2><table><tr><th>report</th><th>report</th><th>shared</th></tr>
{% for l in links %}<tr><td>{{ l[0] }}</td><td>{{ l[1] }}</td><td><code>{{ l[2] }}</code></td></tr>{% endfor %}</table>{% endif %}
<p><small>Priority orders review; it is not a finding. Produced by Vigil triage.</small></p>
</body></html>
""")


def case_html(result: TriageResult, priority: CasePriority, case_id: int) -> str:
    members = set(priority.reports)
    rows = []
    for i in priority.reports:
        a = result.assessments[i]
        dup = result.linked.duplicate_of.get(i)
        rows.append(
            {
                "report": a.report,
                "jurisdiction": a.jurisdiction,
                "actionability": a.actionability,
                "missing": a.missing,
                "actionable": a.actionable,
                "age_in_doubt": a.age_in_doubt,
                "age_why": a.age_why,
                "shared_ips": a.shared_ips,
                "file_rows": list(zip(a.report.files, a.files, strict=True)),
                "dup": result.assessments[dup].report.report_id if dup is not None else None,
            }
        )
    links = [
        (
            result.assessments[link.a].report.report_id,
            result.assessments[link.b].report.report_id,
            link.reason,
        )
        for link in result.linked.links
        if link.a in members
    ]
    return CASE_TEMPLATE.render(
        case_id=case_id,
        p=priority,
        reports=rows,
        links=links,
        duplicates=sum(1 for i in priority.reports if i in result.linked.duplicate_of),
    )


def write_queue_csv(path: Path, result: TriageResult, case_ids: dict[int, int]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        parts = list(result.queue[0].parts) if result.queue else []
        writer.writerow(
            ["rank", "case", "priority", *parts, "reports", "escalation", "report_ids", "jurisdictions"]
        )
        for rank, p in enumerate(result.queue, start=1):
            reports = [result.assessments[i] for i in p.reports]
            writer.writerow(
                [
                    rank,
                    case_ids.get(p.case, p.case),
                    f"{p.score:.1f}",
                    *(f"{p.parts[k]:.1f}" for k in parts),
                    len(p.reports),
                    " ".join(p.reasons),
                    " ".join(a.report.report_id for a in reports),
                    " ".join(sorted({a.jurisdiction for a in reports if a.jurisdiction})),
                ]
            )
