"""Server-rendered review pages (Jinja2, autoescaped). Plain HTML forms; no scripts needed."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

BASE = """<!doctype html><html lang=en><head><meta charset=utf-8><title>{% block title %}Vigil{% endblock %}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.5rem;align-items:center}
header a{color:#cfe0ff} main{padding:1.2rem;max-width:1100px}
table{border-collapse:collapse;background:#fff} td,th{border:1px solid #d5d9e0;padding:.35rem .6rem;text-align:left}
.card{background:#fff;border:1px solid #d5d9e0;padding:1rem;margin:1rem 0;border-radius:6px}
.preview{width:320px;height:auto;border:1px solid #999;background:#888}
.flash{background:#fff3cd;border:1px solid #e0c36c;padding:.5rem 1rem}
button{padding:.4rem 1rem} .muted{color:#5b6475}
</style></head><body><header><b>Vigil review</b>
{% if who %}<span>{{ who.name }} ({{ who.role }})</span><a href="/ui/queue">Queue</a>
<form method=post action="/ui/logout" style="margin:0"><input type=hidden name=csrf value="{{ csrf }}">
<button>Log out</button></form>{% endif %}</header>
<main>{% if flash %}<p class=flash role=status>{{ flash }}</p>{% endif %}{% block body %}{% endblock %}</main></body></html>"""

LOGIN = """{% extends "base" %}{% block title %}Vigil - log in{% endblock %}{% block body %}
<h1>Log in</h1><form method=post action="/ui/login" class=card>
<label>API key <input name=key type=password autocomplete=off size=60 required></label>
<button type=submit>Log in</button></form>{% endblock %}"""

QUEUE = """{% extends "base" %}{% block title %}Vigil - queue{% endblock %}{% block body %}
<h1>Review queue</h1>
{% if items %}<table id=queue><tr><th>Item</th><th>Priority</th><th>Status</th><th>Why</th><th>Source</th></tr>
{% for item in items %}<tr><td><a href="/ui/items/{{ item.id }}">#{{ item.id }}</a></td><td>{{ item.priority }}</td>
<td>{{ item.status }}</td><td>{{ why(item) }}</td><td class=muted>{{ item.source }}</td></tr>{% endfor %}</table>
{% else %}<p id=empty>Nothing waiting for you.</p>{% endif %}{% endblock %}"""

ITEM = """{% extends "base" %}{% block title %}Vigil - item {{ item.id }}{% endblock %}{% block body %}
<h1>Item #{{ item.id }} <small class=muted>{{ item.status }}</small></h1>
<div class=card><img class=preview alt="preview ({{ 'unblurred' if clear else 'blurred' }})"
 src="/ui/items/{{ item.id }}/preview{{ '?clear=1' if clear else '' }}">
{% if not clear %}<form method=post action="/ui/items/{{ item.id }}/unblur"><input type=hidden name=csrf value="{{ csrf }}">
<button id=unblur type=submit>Unblur (recorded in the audit log)</button></form>{% endif %}</div>
<div class=card><h2>Why it is here</h2><ul>{% for line in reasons %}<li>{{ line }}</li>{% endfor %}</ul>
<p class=muted>SHA-256 {{ item.sha256 }}{% if item.path %}<br>Path {{ item.path }}{% endif %}</p>
<p>Needs {{ item.required_votes }} agreeing reviewers; votes so far: {{ votes }}.</p>
{% if ballots %}<table id=votes><tr><th>Reviewer</th><th>Decision</th><th>Category</th><th>Note</th><th>When</th></tr>
{% for b in ballots %}<tr><td>{{ b.reviewer }}</td><td>{{ b.decision }}{% if b.final %} (ruling){% endif %}</td>
<td>{{ b.category or "-" }}</td><td>{{ b.note or "" }}</td><td class=muted>{{ b.at.strftime("%Y-%m-%d %H:%M UTC") }}</td></tr>{% endfor %}</table>
{% elif votes %}<p class=muted>Other reviewers' votes are hidden until you vote.</p>{% endif %}</div>
{% if can_vote %}<form method=post action="/ui/items/{{ item.id }}/vote" class=card id=vote>
<input type=hidden name=csrf value="{{ csrf }}">
<h2>Your decision</h2>
<label><input type=radio name=decision value=confirm required> Confirm</label>
<label><input type=radio name=decision value=reject> Not matching / not pertinent</label>
<p><label>Category <select name=category id=category>
<option value="" selected>- choose (a confirmation needs one; none is assumed) -</option>{% for scheme, code, label in choices %}
<option value="{{ scheme }}:{{ code }}">{{ scheme }} {{ code }} - {{ label }}</option>{% endfor %}</select></label></p>
<p>If you saw it yourself (left unticked, a report says nothing about it):
<label><input type=checkbox name=publicly_available value=1> publicly available</label>
<label><input type=checkbox name=potential_meme value=1> potential meme (shared as a joke or outrage)</label></p>
<p><label>Note <input name=note size=60></label></p><button type=submit id=submit-vote>Record decision</button></form>
{% else %}<p class=card>{{ why_not }}</p>{% endif %}{% endblock %}"""

ENV = Environment(
    loader=DictLoader({"base": BASE, "login": LOGIN, "queue": QUEUE, "item": ITEM}),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
