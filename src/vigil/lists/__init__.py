"""Hash lists: import/export formats and a store that merges entries but keeps every source."""
