"""The App Runner target (DEPLOY_TARGET=apprunner): image deploys by digest tracked to
the operation's end, rollback to the ledger's last good image, source-code deploys with
the repository's apprunner.yaml, status and logs; and the move to ECS Express Mode
(:mod:`move`, :mod:`commands`). See docs/targets/apprunner.md."""
