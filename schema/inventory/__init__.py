"""Cluster inventory: `clusterResources` and `clusterSummary`."""
