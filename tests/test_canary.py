"""No secret value appears in any output: a canary in every secret variable, every task.

Each canary is shaped to pass validation (a Stripe key starts sk_test_, a URI is a URI)
so the tasks run as far as they would for a real user. Later targets add their tasks
to TASKS; deploys against real hosts carry their own canary checks
(tests/compose_hosts).
"""

import pytest
from helpers import ROOT, invoke

from shipwright.settings.schema import SCHEMA

CANARY = "CANARYc4n4ry"


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

TASKS = [
    ("env.check", "--env", "staging"),
    ("env.show", "--env", "staging"),
    ("env.show", "--env", "staging", "--json"),
    ("env.diff", "staging", "production"),
    ("env.check", "--env", "production"),  # fails validation: its messages must be clean too
    ("lint", "--no-project"),
    ("test.unit",),
    ("audit",),  # SNYK_TOKEN is set: the Snyk run gets it, its output must not show it
    ("image.tags", "--env", "staging"),
    ("image.build", "--env", "staging", "--dry-run"),
    ("image.push", "--env", "staging", "--dry-run"),  # DOCKER_PASSWORD: the login is planned
    ("deploy", "--env", "staging", "--dry-run"),  # no hosts configured: a clean refusal
    ("deploy", "--env", "staging", "--no-gates", "--dry-run"),
    ("local.prepare", "--dry-run"),
    ("k8s.render", "--env", "staging", "--image", f"127.0.0.1:5000/x@sha256:{'0' * 64}"),
    ("k8s.validate", "--env", "staging"),
    (
        "k8s.diff",
        "--env",
        "staging",
        "--image",
        f"127.0.0.1:5000/x@sha256:{'0' * 64}",
    ),  # no cluster
    ("deploy", "--env", "staging", "--set", "DEPLOY_TARGET=k8s", "--no-gates", "--dry-run"),
]


@pytest.mark.parametrize("args", TASKS, ids=[" ".join(t) for t in TASKS])
def test_no_canary_in_any_output(args):
    result = invoke(*args, env=CANARIES)
    assert CANARY not in result.output, f"secret leaked by invoke {' '.join(args)}"
    if args[:3] == ("env.check", "--env", "staging"):
        assert result.code == 0, result.output  # the canaries are valid settings


def test_no_canary_in_recorded_files():
    for path in (ROOT / ".shipwright").rglob("*"):
        if path.is_file():
            assert CANARY not in path.read_text(errors="replace"), path
