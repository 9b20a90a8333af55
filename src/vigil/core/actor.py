"""Who acts: one actor model for API keys, CLI operators and Vigil's own automatic steps.

Every state change is written to the audit log under `Actor.label` (`role:name`). An API request acts
as the key's holder; a CLI command as the operator named by `--actor` or `$VIGIL_ACTOR` (the login
name when neither is set: the account that ran it, a recorded fact rather than a placeholder);
automatic steps (escalation on disagreement, a decision reached by N-of-M) as `system:<component>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    SUBMITTER = "submitter"
    REVIEWER = "reviewer"
    SENIOR_REVIEWER = "senior_reviewer"
    ADMIN = "admin"
    AUDITOR = "auditor"
    OPERATOR = "operator"  # a person at the CLI with direct access to the store
    SYSTEM = "system"  # Vigil itself (escalations, decisions, scheduled fetches)


class Permission(StrEnum):
    MATCH = "match"
    SUBMIT = "submit"
    REVIEW = "review"
    PREVIEW = "preview"
    ESCALATION = "escalation"
    REPORT = "report"
    LISTS = "lists"
    SCAN = "scan"
    EVIDENCE = "evidence"
    AUDIT = "audit"
    KEYS = "keys"
    TRANSPARENCY = "transparency"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SUBMITTER: frozenset({P.MATCH, P.SUBMIT}),
    Role.REVIEWER: frozenset({P.MATCH, P.REVIEW, P.PREVIEW}),
    Role.SENIOR_REVIEWER: frozenset({P.MATCH, P.REVIEW, P.PREVIEW, P.ESCALATION, P.REPORT}),
    Role.ADMIN: frozenset(
        {P.MATCH, P.SUBMIT, P.REVIEW, P.PREVIEW, P.ESCALATION, P.REPORT, P.LISTS, P.SCAN, P.EVIDENCE}
        | {P.AUDIT, P.KEYS}
    ),
    Role.AUDITOR: frozenset({P.AUDIT, P.TRANSPARENCY}),
    Role.OPERATOR: frozenset(Permission),
    Role.SYSTEM: frozenset(Permission),
}
KEY_ROLES: tuple[Role, ...] = (Role.SUBMITTER, Role.REVIEWER, Role.SENIOR_REVIEWER, Role.ADMIN, Role.AUDITOR)


@dataclass(frozen=True)
class Actor:
    """A person or component. `key_id` is the API key it authenticated with (votes count per key)."""

    name: str
    role: Role
    key_id: int | None = None

    def can(self, permission: Permission | str) -> bool:
        return Permission(permission) in ROLE_PERMISSIONS[self.role]

    @property
    def label(self) -> str:
        """How the audit log names this actor."""
        return f"{self.role.value}:{self.name}"

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(component, Role.SYSTEM)

    @classmethod
    def operator(cls, name: str) -> Actor:
        if not name.strip():
            raise ValueError("an operator needs a name")
        return cls(name.strip(), Role.OPERATOR)
