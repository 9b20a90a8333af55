"""Classifier plug-ins that prioritise never-seen material for review. They never decide."""
