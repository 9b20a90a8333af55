"""Evidence preservation: encrypted at rest, chain of custody, legal hold."""
