"""Payment indicators linked to paid live-streamed abuse: sourced rules, customer scores, STR drafts."""
