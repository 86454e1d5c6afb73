"""How image results are shown: one table (or JSON) of tags, references and digest.

Kept out of tasks/ so nox sessions print the same thing the tasks do.
"""

from __future__ import annotations

from shipwright.image.record import ImageRecord
from shipwright.image.tags import GitInfo, image_tags
from shipwright.output import emit_json, markdown_table, step_summary, table

COLUMNS = ("Tag", "Reference", "Digest")


def rows(record: ImageRecord) -> list[tuple[str, str, str]]:
    return [(tag, f"{record.repository}:{tag}", record.digest or "-") for tag in record.tags]


def show_record(record: ImageRecord, *, title: str, as_json: bool = False) -> None:
    """The tags of one build/push, with the digest once the registry gave one."""
    if as_json:
        emit_json(record.to_dict())
        return
    heading = f"{title}: {record.version} ({record.branch} @ {record.git_sha[:7]})"
    table(heading, COLUMNS, rows(record))
    step_summary(f"### {heading}\n\n" + markdown_table(COLUMNS, rows(record)))


def show_tags(git: GitInfo, repository: str, target: str, *, as_json: bool = False) -> None:
    """The tags this commit's build gets (nothing is built)."""
    tags = image_tags(git, target)
    if as_json:
        emit_json(
            {
                "branch": git.branch,
                "sha": git.sha,
                "target": target,
                "version": tags[0],
                "tags": tags,
                "references": [f"{repository}:{t}" for t in tags],
            }
        )
        return
    table(
        f"Tags for {git.branch} @ {git.short_sha} ({target})",
        ("Tag", "Reference"),
        [(t, f"{repository}:{t}") for t in tags],
    )
