"""Human review: queue, N-of-M agreement, escalation, category schemes."""
