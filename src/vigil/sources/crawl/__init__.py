"""Web crawler: finds known images on pages in scope, with a resumable frontier in the store."""
