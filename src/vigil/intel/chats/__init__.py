"""Grooming-risk scoring of chat logs. Scores order human review; they decide nothing about anyone."""
