"""The Kubernetes target (DEPLOY_TARGET=k8s); see docs/targets/k8s.md."""
