"""The container image and the Kubernetes manifests under deploy/."""
