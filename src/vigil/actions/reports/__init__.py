"""Clearinghouse reports (CyberTipline style): XML, actionability, submission client."""
