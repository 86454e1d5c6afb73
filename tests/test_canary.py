"""No secret value appears in any output or recorded file: a canary in every secret
variable, every task.

Each canary is shaped to pass validation (a Stripe key starts sk_test_, a URI is a URI)
so the tasks run as far as they would for a real user; each case names the exit code it
must end with and a line that proves it reached the code that handles the secrets (the
masked value, the planned 0600 upload, the planned registry login …). Deploys against
real hosts carry their own canary checks (tests/compose_hosts, tests/conformance).
"""

import os

import pytest
from helpers import invoke

from shipwright.redact import MASK
from shipwright.settings.schema import SCHEMA

CANARY = "CANARYc4n4ry"
DIGEST = "sha256:" + "c" * 64
IMAGE = f"127.0.0.1:5000/learinal-backend:canary@{DIGEST}"
#: A loopback port nothing listens on: the tasks connect, are refused, and say so.
NOWHERE = "127.0.0.1:1"


def canary_value(name: str) -> str:
    shaped = {
        "MONGO_URI": f"mongodb://app:{CANARY}mongo@127.0.0.1:1/learinal",
        "REDIS_URI": f"redis://:{CANARY}redis@127.0.0.1:1",
        "STRIPE_SECRET_KEY": f"sk_test_{CANARY}stripe",
        "STRIPE_WEBHOOK_SECRET": f"whsec_{CANARY}hook",
        "SENTRY_DSN": f"https://{CANARY}dsn@127.0.0.1:1/1",
        "SLACK_WEBHOOK_URL": f"http://127.0.0.1:1/{CANARY}slack",
    }
    return shaped.get(name, f"{CANARY}-{name.lower()}-0123456789abcdef0123456789")


CANARIES = {name: canary_value(name) for name, var in SCHEMA.items() if var.secret}
#: Not secret, but needed to reach the paths that use the secrets next to them.
PLAIN = {"DEPLOY_HOSTS": NOWHERE, "DEPLOY_CONNECT_TIMEOUT": "1", "DOCKER_USERNAME": "canary"}
LOCAL = ("--set", "DEPLOY_TARGET=local")  # a ledger that needs no reachable host
K8S_IMAGE = f"127.0.0.1:5000/learinal-backend:v1@sha256:{'0' * 64}"
K8S = ("--set", "DEPLOY_TARGET=k8s")  # no cluster answers (KUBECONFIG unset)
ECS_IMAGE = "127.0.0.1:5000/learinal-backend:v1@sha256:" + "1" * 64
#: The ECS target pointed at a closed local port (its AWS paths: tests/ecs/test_ecs_canary.py).
ECS = (
    "--set",
    "DEPLOY_TARGET=ecs",
    "--set",
    "AWS_ENDPOINT_URL=http://127.0.0.1:1",
    "--set",
    "AWS_SECRET_FROM=arn:aws:ssm:us-east-1:123456789012:parameter/learinal/staging/{name}",
    *("--set", "AWS_STATE_BUCKET=canary", "--set", "ECS_CLUSTER=c", "--set", "ECS_SERVICE=s"),
)
ECR_IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/learinal-backend:canary@{DIGEST}"
#: App Runner and ECS Express pointed at a closed local port (their AWS paths, Stubber-driven:
#: tests/apprunner/test_apprunner_canary.py).
AWS_CLOSED = (
    *("--set", "AWS_ENDPOINT_URL=http://127.0.0.1:1", "--set", "AWS_STATE_BUCKET=canary"),
    "--set",
    "AWS_SECRET_FROM=arn:aws:ssm:us-east-1:123456789012:parameter/learinal/staging/{name}",
)
APPRUNNER = (
    *("--set", "DEPLOY_TARGET=apprunner", *AWS_CLOSED),
    *("--set", "APPRUNNER_SERVICE=arn:aws:apprunner:us-east-1:123456789012:service/s/0123"),
)
EXPRESS = ("--set", "DEPLOY_TARGET=ecs-express", *AWS_CLOSED)

#: (args, exit code, a line that proves the secret-handling path ran)
TASKS = [
    (("env.check", "--env", "staging"), 0, "'staging' is valid"),
    (("env.show", "--env", "staging"), 0, MASK),
    (("env.show", "--env", "staging", "--json"), 0, MASK),
    (("env.diff", "--env", "staging", "--against", "production"), 0, "keys differ"),
    (("env.check", "--env", "production"), 2, "is not valid"),  # its messages too
    (("lint", "--no-project"), 0, "lint: app"),
    (("test.unit",), 0, "test.unit"),
    (("audit",), 0, "audit: snyk"),  # SNYK_TOKEN set: the Snyk run gets it
    (("image.tags", "--env", "staging"), 0, "learinal-backend"),
    (("image.build", "--env", "staging", "--dry-run"), 0, "would"),
    (("image.push", "--env", "staging", "--dry-run"), 0, "login"),  # DOCKER_PASSWORD
    (
        ("deploy", "--env", "staging", "--image", IMAGE, "--no-gates", "--dry-run"),
        0,
        "(mode 0600)",  # the app's variables, secrets included, planned as a 0600 upload
    ),
    (
        ("deploy", "--env", "staging", "--image", IMAGE, "--dry-run", *LOCAL),
        1,  # the gates refuse (no CI record for the canary image), after the plan
        "(mode 0600)",
    ),
    (
        ("run", "--env", "staging", "--image", IMAGE, "--dry-run", *LOCAL, "--", "env"),
        0,
        "mode 0600)",  # the app's variables as a 0600 env file, never on the command line
    ),
    (("status", "--env", "staging"), 0, NOWHERE),  # the unreachable host is reported
    (("local.prepare", "--dry-run"), 0, "Local default"),
    (("ecs.render", "--env", "staging", "--image", ECS_IMAGE, *ECS), 0, "valueFrom"),
    (
        ("deploy", "--env", "staging", "--image", ECS_IMAGE, "--no-gates", "--dry-run", *ECS),
        1,  # the plan reads the service first: the closed port is reported, nothing else
        "AWS is unreachable",
    ),
    (("apprunner.validate", "--env", "staging"), 0, "apprunner.yaml: version 1.0"),
    (
        ("deploy", "--env", "staging", "--image", ECR_IMAGE, "--no-gates", "--dry-run", *APPRUNNER),
        1,  # the plan reads the service first: the closed port is reported, nothing else
        "AWS is unreachable",
    ),
    (
        ("run", "--env", "staging", "--image", ECR_IMAGE, *APPRUNNER, "--", "env"),
        2,
        "App Runner has no one-off tasks",
    ),
    (("apprunner.migrate", "--env", "staging", *APPRUNNER), 1, "AWS is unreachable"),
    (
        ("deploy", "--env", "staging", "--image", ECR_IMAGE, "--no-gates", "--dry-run", *EXPRESS),
        1,
        "AWS is unreachable",
    ),
    # MONGO_URI's password reaches the driver; the refusal names the server, not it (the
    # engine's own canary runs against a real wire-protocol server: tests/migrate).
    (("migrate.status", "--env", "staging"), 1, "MongoDB at 127.0.0.1:1 does not answer"),
    (
        ("migrate.up", "--env", "staging", "--local", "--dry-run"),
        1,
        "MongoDB at 127.0.0.1:1 does not answer",
    ),
    (("k8s.render", "--env", "staging", "--image", K8S_IMAGE), 0, "kind: Secret"),
    (("k8s.validate", "--env", "staging"), 0, "valid for Kubernetes"),
    (("k8s.diff", "--env", "staging", "--image", K8S_IMAGE), 2, "no Kubernetes cluster"),
    (
        ("deploy", "--env", "staging", "--image", K8S_IMAGE, "--no-gates", "--dry-run", *K8S),
        0,  # the plan says the cluster could not be read, and what the Secret would hold
        "values never shown",
    ),
]


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    """This module's own state folder: the recorded files test reads exactly what the
    tasks above wrote."""
    return tmp_path_factory.mktemp("canary-state")


@pytest.mark.parametrize("args,code,proof", TASKS, ids=[" ".join(t[0]) for t in TASKS])
def test_no_canary_in_any_output(args, code, proof, state):
    env = {**CANARIES, **PLAIN, "SHIPWRIGHT_STATE_DIR": str(state)}
    result = invoke(*args, env=env)
    assert CANARY not in result.output, f"secret leaked by invoke {' '.join(args)}"
    assert result.code == code, result.output
    assert proof in result.output, result.output


def test_no_canary_in_recorded_files(state):
    files = [p for p in state.rglob("*") if p.is_file()]
    assert any("ci" in p.parts for p in files), "the stage tasks recorded nothing"
    for path in files:
        assert CANARY not in path.read_text(errors="replace"), path
    assert os.environ["SHIPWRIGHT_STATE_DIR"] != str(state)  # not the suite's shared one
