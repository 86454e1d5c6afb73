"""MongoDB migrations: the app's own JavaScript modules, run by the app's own runner in the
release's image (``Target.run``) or on this machine, with the bookkeeping in Python.

    discovery   the modules, their declared phase/collections, checksums
    connection  MONGO_URI -> a pymongo database (never printed)
    changelog   every run, backfill progress, lock breaks and restores
    lock        one atomic lock document with expiry and heartbeat
    state       files vs changelog: pending, applied, edited, missing
    executor    one run of the app's runner, locally or on the target
    backup      mongodump when present, else a pymongo archive; restore
    rules       phases: what may run now (backfills done, contract soak, rollbacks)
    engine      up / down with lock, backup and changelog
    backfill    the background step, in batches, resumable
    hook        the deploy flow's hook: expand before the move, refused rollbacks, gate
    commands    what the migrate.* tasks do, without Invoke

Nothing here imports pymongo at import time, so ``invoke --list`` stays fast.
"""
