"""The web UI under /ui: server-rendered pages (Jinja2), one router per area, over the domain layer.

Logins become server-side sessions (`vigil.review.sessions`): the cookie holds a random id,
HttpOnly, SameSite=Strict, Secure behind TLS, scoped to /ui. Every state-changing form carries the
session's CSRF token and must come from this origin. One small script (`static/keys.js`, served
from this origin under a CSP without eval) adds keyboard shortcuts; every page works without it.
"""

from vigil.interfaces.ui.app import ROUTERS, as_page, install

__all__ = ["ROUTERS", "as_page", "install"]
