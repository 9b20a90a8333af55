"""Police triage of incoming reports: intake, completeness, case linking and a priority queue."""
