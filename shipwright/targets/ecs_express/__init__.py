"""The ECS Express Mode target (DEPLOY_TARGET=ecs-express): one call creates a service
with its load balancer, HTTPS endpoint and autoscaling on first deploy; updates are
canary deployments followed to their real end through the ECS target's tracker;
rollback to the ledger's last good image; one-off tasks through the ECS target's
run-task. See docs/targets/apprunner.md (the move from App Runner)."""
