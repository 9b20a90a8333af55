"""Text intelligence: filename/query, chat and shared linear-model helpers. Scores only prioritise review."""
