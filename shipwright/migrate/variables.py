"""The migration engine's settings (group ``migrations``): where the modules are, which
collections keep the changelog and the lock, backups, and the contract soak."""

from __future__ import annotations

from shipwright.settings.var import Var, int_between, number

VARIABLES: tuple[Var, ...] = (
    Var(
        "MIGRATIONS_DIR",
        "migrations",
        "Folder of the migration modules (NNNN-name.js), relative to the project root",
        default="app/scripts/migrations",
    ),
    Var(
        "MIGRATE_COMMAND",
        "migrations",
        "The app's migration runner, run in the app folder or the image's workdir",
        default="node scripts/run-migration.js",
    ),
    Var(
        "MIGRATE_ON_DEPLOY",
        "migrations",
        "Run pending expand migrations in every deploy, after the gates and the lock, "
        "before traffic moves (and refuse rollbacks an applied contract forbids)",
        default="false",
        choices=("true", "false"),
    ),
    Var(
        "MIGRATE_CHANGELOG",
        "migrations",
        "Collection of the changelog (every run, backfill progress, lock breaks, restores)",
        default="migrations_changelog",
        pattern=r"[A-Za-z_][A-Za-z0-9_.-]*",
    ),
    Var(
        "MIGRATE_LOCK_COLLECTION",
        "migrations",
        "Collection of the migrations lock (one document, unique key)",
        default="migrations_lock",
        pattern=r"[A-Za-z_][A-Za-z0-9_.-]*",
    ),
    Var(
        "MIGRATE_LOCK_SECONDS",
        "migrations",
        "Seconds a migrations lock lives without a heartbeat (renewed every third)",
        default="60",
        check=int_between(3, 86400),
    ),
    Var(
        "MIGRATE_BACKUP",
        "migrations",
        "Back up the declared collections before up/down: auto (staging and production), "
        "always or never",
        default="auto",
        choices=("auto", "always", "never"),
    ),
    Var(
        "MIGRATE_BACKUP_DIR",
        "migrations",
        "Where backups go (default: the state folder's migrate-backups/)",
    ),
    Var(
        "MIGRATE_TIMEOUT",
        "migrations",
        "Seconds one migration (or one backfill batch) may run",
        default="3600",
        check=number,
    ),
    Var(
        "MIGRATE_BATCH_SIZE",
        "migrations",
        "Documents per backfill batch",
        default="1000",
        check=int_between(1, 1_000_000),
    ),
    Var(
        "CONTRACT_SOAK_HOURS",
        "migrations",
        "Hours the release a contract migration names must have served healthy first",
        default="24",
        check=number,
    ),
)
