"""moto_server with one correction to its ECS emulation, so the legacy deployment view
reads as AWS writes it.

AWS: UpdateService with a new task definition starts a new PRIMARY deployment running
it (the old one turns ACTIVE and drains). moto 5.2 changes ``service.taskDefinition``
but leaves its single PRIMARY deployment on the OLD task definition, so any tool that
checks "the PRIMARY runs what I registered" (as ours must) would see a rollback after
every deploy. This launcher makes moto's UpdateService replace the deployment with a
PRIMARY one on the new task definition, COMPLETED when the emulated running count
covers the desired count (MOTO_ECS_SERVICE_RUNNING). Nothing else of moto changes;
two deployments at once, failures and rollbacks are driven with Stubber instead.

Run as ``python moto_ecs_primary.py -H 127.0.0.1 -p PORT`` (moto_server's arguments).
"""

from __future__ import annotations

import sys

from moto.core.utils import utcnow
from moto.ecs import models
from moto.moto_api._internal import mock_random

_update_service = models.EC2ContainerServiceBackend.update_service


def update_service(self, service_properties):
    service = _update_service(self, service_properties)
    deployments = service.deployments
    if deployments and deployments[0]["taskDefinition"] != service.task_definition:
        deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
        done = service.running_count >= service.desired_count
        deployments[:] = [
            {
                **deployments[0],
                "id": deployment_id,
                "taskDefinition": service.task_definition,
                "createdAt": utcnow(),
                "updatedAt": utcnow(),
                "rolloutState": "COMPLETED" if done else "IN_PROGRESS",
                "rolloutStateReason": f"ECS deployment {deployment_id} "
                + ("completed." if done else "in progress."),
            }
        ]
    return service


models.EC2ContainerServiceBackend.update_service = update_service

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
