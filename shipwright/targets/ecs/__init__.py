"""The ECS target (DEPLOY_TARGET=ecs): task definitions rendered from the repository,
deploys tracked to their real end, rollback to the ledger's last good revision,
one-off tasks, status and logs. See docs/targets/ecs.md."""
