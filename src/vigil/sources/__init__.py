"""What feeds the pipeline: folder and archive scans, web crawls, incoming reports, P2P observations."""
