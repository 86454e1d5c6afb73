"""Services created with the CODE_DEPLOY deployment controller (the specification's
"ECS Blue-Green"): a CodeDeploy deployment with an AppSpec naming the new revision,
followed to its end; a failed deployment that CodeDeploy rolled back (or a timeout /
Ctrl-C, which stops it with auto-rollback) ends with the original task set serving.

Success, as on the ECS controller, is the deployment Succeeded **and** the PRIMARY task
set running the revision this deploy registered.
"""

from __future__ import annotations

import json
from typing import Any

from shipwright.aws.errors import aws_errors
from shipwright.errors import ConfigError
from shipwright.output import say
from shipwright.retry import poll
from shipwright.targets.ecs import service as svc
from shipwright.targets.ecs.tracker import Ended, Following

FINAL = ("Succeeded", "Failed", "Stopped")


def appspec(task_definition: str, container: str, port: int) -> str:
    resource = {
        "TargetService": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "TaskDefinition": task_definition,
                "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port},
            },
        }
    }
    return json.dumps({"version": 0.0, "Resources": [resource]}, sort_keys=True)


class CodeDeployMove(Following):
    def names(self) -> tuple[str, str]:
        app, group = self.config.codedeploy_application, self.config.codedeploy_group
        if not (app and group):
            raise ConfigError(
                f"the service {self.config.service} uses the CODE_DEPLOY deployment controller: "
                "set ECS_CODEDEPLOY_APPLICATION and ECS_CODEDEPLOY_GROUP"
            )
        return app, group

    def deploy(self, service: dict[str, Any], registered: str, previous: str | None) -> Ended:
        app, group = self.names()
        balancers = service.get("loadBalancers") or [{}]
        port = int(balancers[0].get("containerPort") or 3000)
        codedeploy = self.clients("codedeploy")
        with aws_errors(self.clients.settings, "creating the CodeDeploy deployment"):
            created = self.runner.api(
                f"codedeploy create_deployment {app}/{group} ({self.config.codedeploy_config}) "
                f"-> {svc.revision_of(registered)}",
                codedeploy.create_deployment,
                applicationName=app,
                deploymentGroupName=group,
                deploymentConfigName=self.config.codedeploy_config,
                revision={
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"content": appspec(registered, self.config.container, port)},
                },
            )
        deployment = created["deploymentId"]
        try:
            info = self._follow(deployment, self.config.deploy_timeout)
        except KeyboardInterrupt:
            return self._stop(deployment, registered, previous, "interrupted (Ctrl-C)")
        if info is None:
            why = f"not done after {self.config.deploy_timeout:.0f}s (ECS_DEPLOY_TIMEOUT)"
            return self._stop(deployment, registered, previous, why)
        return self._ended(info, registered, previous)

    def _follow(self, deployment: str, timeout: float) -> dict[str, Any] | None:
        codedeploy = self.clients("codedeploy")

        def probe() -> dict[str, Any]:
            with aws_errors(self.clients.settings, "following the CodeDeploy deployment"):
                info = codedeploy.get_deployment(deploymentId=deployment)["deploymentInfo"]
            overview = info.get("deploymentOverview") or {}
            line = f"{deployment} {info.get('status')}" + "".join(
                f", {k.lower()} {v}" for k, v in overview.items() if v
            )
            if line != self._last:
                self._last = line
                say(f"  codedeploy: {line}")
            return info

        polled = poll(
            probe,
            timeout=timeout,
            done=lambda i: i.get("status") in FINAL,
            interval=self.config.poll_seconds,
            fatal=(ConfigError,),
            clock=self.clock,
            sleep=self.sleep,
        )
        return polled.value if polled.ok else None

    def _ended(self, info: dict[str, Any], registered: str, previous: str | None) -> Ended:
        primary = svc.primary_task_definition(svc.describe(self.clients, self.config))
        status = info.get("status")
        if status == "Succeeded" and primary == registered:
            return Ended("succeeded", f"{svc.revision_of(registered)} serves", primary)
        error = info.get("errorInformation") or {}
        why = f"CodeDeploy {status}: {error.get('code', '')} {error.get('message', '')}".strip()
        self.stopped.report(registered)
        rollback = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
        if rollback:
            say(f"  codedeploy: rolling back in {rollback}")
            after = self._follow(rollback, self.config.rollback_timeout)
            primary = svc.primary_task_definition(svc.describe(self.clients, self.config))
            if after is None:
                return Ended("broken", f"{why}; the rollback {rollback} did not finish", primary)
        if primary == previous:
            return Ended("restored", f"{why}; {svc.revision_of(previous)} serves again", primary)
        return Ended(
            "broken", f"{why}; the PRIMARY task set runs {svc.revision_of(primary)}", primary
        )

    def _stop(self, deployment: str, registered: str, previous: str | None, why: str) -> Ended:
        say(f"✘ {why}: stopping {deployment} with auto-rollback")
        with aws_errors(self.clients.settings, "stopping the CodeDeploy deployment"):
            self.runner.api(
                f"codedeploy stop_deployment {deployment} (autoRollbackEnabled)",
                self.clients("codedeploy").stop_deployment,
                deploymentId=deployment,
                autoRollbackEnabled=True,
            )
        info = self._follow(deployment, self.config.rollback_timeout) or {"status": "Stopping"}
        info.setdefault("errorInformation", {"message": why})
        ended = self._ended(info, registered, previous)
        return Ended(ended.state, f"{why}; {ended.detail}", ended.serving)
