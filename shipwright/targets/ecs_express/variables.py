"""The ECS Express Mode target's settings (group ``ecs-express``); the AWS settings it
shares with the other AWS targets are declared once, in shipwright.aws.variables."""

from __future__ import annotations

from shipwright.settings.var import PORT, Var, int_between, number

ROLE = r"arn:aws[a-z-]*:iam::\d{12}:role/\S+"
IDS = r"[a-z]+-[0-9a-f]+(,\s*[a-z]+-[0-9a-f]+)*"

VARIABLES: tuple[Var, ...] = (
    Var("EXPRESS_CLUSTER", "ecs-express", "Cluster of the Express service", default="default"),
    Var("EXPRESS_SERVICE", "ecs-express", "Express service name (default: APP_NAME-<environment>)"),
    Var(
        "EXPRESS_EXECUTION_ROLE_ARN",
        "ecs-express",
        "Task execution role (pulls the image, reads the secret references); needed to create",
        pattern=ROLE,
    ),
    Var(
        "EXPRESS_INFRASTRUCTURE_ROLE_ARN",
        "ecs-express",
        "Role ECS manages the load balancer, target groups and scaling with; needed to create",
        pattern=ROLE,
    ),
    Var("EXPRESS_TASK_ROLE_ARN", "ecs-express", "Role the app runs with", pattern=ROLE),
    Var("EXPRESS_PORT", "ecs-express", "Port the app listens on", default="3000", check=PORT),
    Var(
        "EXPRESS_HEALTH_PATH",
        "ecs-express",
        "Path the load balancer checks (default: the first of HEALTH_PATHS)",
        pattern=r"/\S*",
    ),
    Var("EXPRESS_CPU", "ecs-express", "Task CPU units", default="1024"),
    Var("EXPRESS_MEMORY", "ecs-express", "Task memory in MiB", default="2048"),
    Var(
        "EXPRESS_MIN_TASKS", "ecs-express", "Fewest tasks", default="1", check=int_between(1, 5000)
    ),
    Var("EXPRESS_MAX_TASKS", "ecs-express", "Most tasks", default="4", check=int_between(1, 5000)),
    Var(
        "EXPRESS_SCALING_METRIC",
        "ecs-express",
        "What autoscaling follows",
        default="AVERAGE_CPU",
        choices=("AVERAGE_CPU", "AVERAGE_MEMORY", "REQUEST_COUNT_PER_TARGET"),
    ),
    Var(
        "EXPRESS_SCALING_TARGET",
        "ecs-express",
        "Target value of the scaling metric (percent, or requests per target)",
        default="60",
        check=int_between(1, 100000),
    ),
    Var("EXPRESS_SUBNETS", "ecs-express", "Subnet ids, comma-separated (default VPC)", pattern=IDS),
    Var(
        "EXPRESS_SECURITY_GROUPS", "ecs-express", "Security group ids, comma-separated", pattern=IDS
    ),
    Var(
        "EXPRESS_LOG_GROUP",
        "ecs-express",
        "awslogs group of the app container (default: the one Express chooses)",
    ),
    Var(
        "EXPRESS_DEPLOY_TIMEOUT",
        "ecs-express",
        "Seconds a deploy may take before ECS is asked to roll it back",
        default="1800",
        check=number,
    ),
    Var(
        "EXPRESS_ROLLBACK_TIMEOUT",
        "ecs-express",
        "Seconds a rollback may take to serve the previous revision",
        default="900",
        check=number,
    ),
    Var(
        "EXPRESS_RUN_TIMEOUT",
        "ecs-express",
        "Seconds a one-off task may run",
        default="1800",
        check=number,
    ),
    Var(
        "EXPRESS_POLL_SECONDS",
        "ecs-express",
        "Seconds between two looks at a deployment",
        default="10",
        check=number,
    ),
)
