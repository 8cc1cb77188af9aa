"""People: administering users, your sessions, personal API tokens and passwords."""
