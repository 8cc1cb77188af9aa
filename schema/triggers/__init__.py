"""Flow triggers: webhook, schedule and run-completed triggers of FLOW workflows."""
