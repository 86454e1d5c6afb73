"""The Kubernetes target's settings (group ``k8s``): which cluster and namespace, which
manifests, how a release rolls out and how long it may take to get ready."""

from __future__ import annotations

from shipwright.settings.var import URL, Var, int_between, number

VARIABLES: tuple[Var, ...] = (
    Var(
        "KUBECONFIG",
        "k8s",
        "Kubeconfig file(s), ':'-separated as kubectl reads them (default ~/.kube/config, "
        "else the in-cluster service account)",
    ),
    Var("K8S_CONTEXT", "k8s", "Kubeconfig context (default: its current-context)"),
    Var(
        "K8S_NAMESPACE",
        "k8s",
        "Namespace of the release (default: the overlay's namespace)",
        pattern=r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
    ),
    Var(
        "K8S_MANIFESTS",
        "k8s",
        "Folder with base/ and overlays/<name>/ (relative to the project root)",
        default="deploy/k8s",
    ),
    Var("K8S_OVERLAY", "k8s", "Overlay rendered for this environment (default: its name)"),
    Var(
        "K8S_STRATEGY",
        "k8s",
        "rolling (the Deployment's rolling update) or bluegreen (Service selector switch)",
        default="rolling",
        choices=("rolling", "bluegreen"),
    ),
    Var(
        "K8S_VERSION",
        "k8s",
        "Kubernetes version the manifests are validated against (k8s.validate)",
        default="1.30",
        pattern=r"1\.\d{2}(\.\d+)?",
    ),
    Var(
        "K8S_CONTAINER",
        "k8s",
        "Name of the app's container in the Deployment",
        default="backend",
    ),
    Var(
        "K8S_ROLLOUT_TIMEOUT",
        "k8s",
        "Seconds the tool waits for a rollout (the Deployment's progressDeadlineSeconds "
        "fails it earlier)",
        default="900",
        check=number,
    ),
    Var(
        "K8S_RESTART_BUDGET",
        "k8s",
        "Restarts of a new pod's container tolerated before CrashLoopBackOff fails the deploy",
        default="2",
        check=int_between(0, 100),
    ),
    Var(
        "K8S_READY_BUDGET",
        "k8s",
        "Seconds a new pod's running container may stay unready before the deploy fails",
        default="120",
        check=number,
    ),
    Var(
        "K8S_POLL_INTERVAL",
        "k8s",
        "Seconds between two reads of the rollout",
        default="2",
        check=number,
    ),
    Var(
        "K8S_LOCK_SECONDS",
        "k8s",
        "Duration of the deploy Lease (renewed while the deploy runs; a dead run's lease "
        "can be taken once it expired)",
        default="300",
        check=int_between(15, 86400),
    ),
    Var(
        "K8S_JOB_TIMEOUT",
        "k8s",
        "Seconds a one-off Job (invoke run) may take",
        default="600",
        check=number,
    ),
    Var(
        "K8S_PREVIEW_URL",
        "k8s",
        "URL that reaches the preview Service (blue-green): the smoke suite runs there "
        "before the switch",
        pattern=URL,
    ),
)
