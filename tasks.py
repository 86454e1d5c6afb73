"""Invoke's entry point: the root collection, built from the modules in tasks/.

Why both ``tasks.py`` and ``tasks/``: Invoke loads this file as the module ``tasks``,
which would shadow a ``tasks/`` package. So ``tasks/`` has no ``__init__.py`` and this
module declares ``__path__`` itself: it *is* the package ``tasks``, whether Invoke loads
it (``invoke --list`` from the root or any subfolder) or Python imports it
(``import tasks.env`` in tests and noxfile.py). Collections import only Invoke and
shipwright's light modules at load time; boto3, docker and fabric load inside task
bodies so ``invoke --list`` stays fast.
"""

from pathlib import Path

from invoke import Collection

from shipwright.cli import quiet_broken_pipe

quiet_broken_pipe()
__path__ = [str(Path(__file__).resolve().parent / "tasks")]

from tasks import (  # noqa: E402
    apprunner,
    audit,
    compose,
    deploy,
    ecs,
    env,
    image,
    k8s,
    lint,
    local,
    migrate,
    test,
)

ns = Collection()
for module in (env, lint, test, audit, image, compose, local, ecs, apprunner, k8s, migrate):
    ns.add_collection(Collection.from_module(module))
for name in ("deploy", "rollback", "status", "history", "logs", "prune"):
    ns.add_task(getattr(deploy, name), name)
ns.add_task(deploy.run_, "run")
