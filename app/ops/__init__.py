"""Commands that operate a Trellis installation (backup, restore, docs)."""
