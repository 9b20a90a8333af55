"""Takedown notices to hosts' abuse contacts, re-sent every 24 h until the content is gone."""
