"""A throwaway MongoDB wire-protocol server (mongoeco) on 127.0.0.1 or a sandbox address.

Why mongoeco: no mongod can run on these machines, and the migration engine must be
tested over real connections with the real drivers (pymongo, the Node ``mongodb``
driver), not an in-process fake. mongoeco needs Python >= 3.13, so it runs from its own
venv (``.ci/setup`` creates it at SHIPWRIGHT_MONGOECO_VENV, default
``~/.cache/shipwright/mongoeco``, and proves it answers a ping; SHIPWRIGHT_MONGOECO_PYTHON
names another interpreter).
Its data lives in memory: every start is empty.

What it does not do (proven only on real MongoDB): the Node driver's cursor helpers
(find().toArray(), findOne, aggregate, countDocuments, listCollections) fail against it
("BSON element id is missing": it answers cursor ids as int32); ping, insert, updateMany
(also with a pipeline), createIndex/dropIndex and the find/count *commands* work.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._proc import ProcessService, SandboxError

__all__ = ["MongoEco", "mongoeco_python"]

SERVER = Path(__file__).with_name("mongoeco_server.py")
VENV = Path(
    os.environ.get("SHIPWRIGHT_MONGOECO_VENV") or Path.home() / ".cache" / "shipwright" / "mongoeco"
)


def mongoeco_python() -> str:
    """The interpreter that has mongoeco (SandboxError naming the fix when none)."""
    python = os.environ.get("SHIPWRIGHT_MONGOECO_PYTHON") or str(VENV / "bin" / "python")
    if not Path(python).is_file():
        raise SandboxError(f"no mongoeco interpreter at {python}: run .ci/setup")
    return python


class MongoEco(ProcessService):
    """``with MongoEco() as m: m.uri("db")``; ``user``/``password`` require SCRAM auth
    (the password reaches the server through its environment, never its argv)."""

    name = "mongoeco"

    def __init__(self, *, host: str = "127.0.0.1", user: str = "", password: str = "", **kw):
        super().__init__(timeout=kw.pop("timeout", 30), **kw)
        self.host, self.user, self.password = host, user, password

    def uri(self, database: str = "app") -> str:
        from urllib.parse import quote

        auth = ""
        if self.user:
            auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}@"
        query = "directConnection=true"
        if self.user:
            query += "&authSource=admin&authMechanism=SCRAM-SHA-256"
        return f"mongodb://{auth}{self.host}:{self.port}/{database}?{query}"

    def argv(self) -> list[str]:
        return [mongoeco_python(), str(SERVER), self.host, str(self.port)]

    def process_env(self) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if self.user:
            env |= {"MONGOECO_USER": self.user, "MONGOECO_PASSWORD": self.password}
        return env

    def ready(self) -> bool:
        import pymongo

        client = pymongo.MongoClient(self.uri(), serverSelectionTimeoutMS=500)
        try:
            client.admin.command("ping")
            return True
        finally:
            client.close()
