"""Serve the MongoDB wire protocol with mongoeco until SIGTERM (run by the mongoeco venv's
Python >= 3.13, never imported by the suite).

    python mongoeco_server.py HOST PORT

With MONGOECO_USER and MONGOECO_PASSWORD in the environment (never on the command line)
the server requires SCRAM authentication as that user.
"""

import asyncio
import os
import signal
import sys

from mongoeco.wire.auth import WireAuthUser
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer


async def serve(host: str, port: int) -> None:
    user, password = os.environ.get("MONGOECO_USER"), os.environ.get("MONGOECO_PASSWORD")
    users = ()
    if user and password:
        users = (WireAuthUser(user, password, roles=({"role": "root", "db": "admin"},)),)
    server = AsyncMongoEcoProxyServer(host=host, port=port, auth_users=users)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"mongoeco serving on {host}:{port}", flush=True)
    await stop.wait()
    await server.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
