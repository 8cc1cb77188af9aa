"""Imports from a Git repository: `importFromGit`, `composeImport` and `importProgress`."""
