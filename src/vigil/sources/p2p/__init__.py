"""P2P monitoring observations: match against lists, aggregate per host over time, rank distributors."""
