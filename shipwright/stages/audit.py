"""Stage 3: the security audit -- npm audit, pip-audit, and Snyk when SNYK_TOKEN is set.

As the specification says, the stage continues on non-critical findings: critical
ones fail it, lower levels are reported. "Could not audit" (an unreachable advisory
service) is never reported as clean: it is its own state, and fails with --strict.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from shipwright import PROJECT_ROOT
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.stages import node
from shipwright.stages.results import StageResult

LEVELS = ("info", "low", "moderate", "high", "critical")


@dataclass
class Findings:
    """One scanner's verdict: counts by severity, or why it could not audit."""

    tool: str
    counts: Counter = field(default_factory=Counter)
    error: str | None = None

    @property
    def critical(self) -> int:
        return self.counts.get("critical", 0)

    def summary(self) -> str:
        if self.error:
            return f"could not audit: {self.error}"
        found = ", ".join(
            f"{self.counts[k]} {k}" for k in (*LEVELS, "unknown") if self.counts.get(k)
        )
        return found or "no known vulnerabilities"


def _load(findings: Findings, text: str):
    """The scanner's JSON, or None with findings.error set: no report is never clean."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if not data:
        findings.error = f"{findings.tool} printed no JSON report"
        return None
    return data


def parse_npm_audit(text: str, exit_code: int = 0) -> Findings:
    """npm audit --json (npm 7+): metadata.vulnerabilities holds counts by severity. A
    report without them is "could not audit", whatever else it says: npm 11 answers a
    405 from the advisory endpoint with ``message``/``statusCode`` and an ``error`` whose
    summary is empty (and exits 1), which must never read as clean."""
    findings = Findings("npm audit")
    if (data := _load(findings, text)) is None:
        return findings
    counts = (data.get("metadata") or {}).get("vulnerabilities")
    if not isinstance(counts, dict):
        error = data.get("error")
        reason = (error.get("summary") or error.get("detail")) if isinstance(error, dict) else error
        reason = reason or data.get("message") or f"npm audit exited {exit_code} without a report"
        findings.error = str(reason).strip()
        return findings
    findings.counts.update({k: int(counts.get(k, 0)) for k in LEVELS})
    return findings


def parse_pip_audit(text: str) -> Findings:
    """pip-audit --format json: per dependency, its vulns, or skip_reason when it could not
    be audited. pip-audit gives no severity, so findings count as 'unknown' (reported)."""
    findings = Findings("pip-audit")
    if (data := _load(findings, text)) is None:
        return findings
    deps = data.get("dependencies", []) if isinstance(data, dict) else data
    skipped = [d["name"] for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    if deps and not audited:
        findings.error = f"none of {len(deps)} packages could be audited"
        return findings
    findings.counts["unknown"] = sum(len(d.get("vulns", [])) for d in audited)
    if skipped:
        findings.counts["not audited"] = len(skipped)
    return findings


def parse_snyk(text: str) -> Findings:
    """snyk test --json: vulnerabilities[].severity is low|medium|high|critical."""
    findings = Findings("snyk")
    if (data := _load(findings, text)) is None:
        return findings
    reports = data if isinstance(data, list) else [data]
    for report in reports:
        if report.get("error"):
            findings.error = str(report["error"])
            return findings
        for vuln in report.get("vulnerabilities", []):
            severity = {"medium": "moderate"}.get(vuln.get("severity"), vuln.get("severity"))
            findings.counts[severity or "unknown"] += 1
    return findings


def judge(result: StageResult, findings: Findings, strict: bool) -> None:
    if findings.error:
        result.add(findings.tool, False if strict else None, findings.summary())
    else:
        result.add(findings.tool, findings.critical == 0, findings.summary())


def run(
    runner: Runner, settings: Settings, *, strict: bool = False
) -> tuple[StageResult, list[Findings]]:
    result = StageResult("audit")
    node.ensure_dependencies(runner)
    npm = runner.local(
        ["npm", "audit", "--audit-level=moderate", "--json"],
        cwd=str(node.APP_DIR),
        check=False,
        quiet=True,
        changes=False,
    )
    reports = [parse_npm_audit(npm.stdout, npm.exit_code)]
    pip = runner.local(
        ["pip-audit", "--format", "json", "--progress-spinner", "off"],
        cwd=str(PROJECT_ROOT),
        check=False,
        quiet=True,
        changes=False,
    )
    reports.append(
        parse_pip_audit(pip.stdout)
        if pip.stdout.strip()
        else Findings("pip-audit", error=(pip.stderr.strip().splitlines() or ["no output"])[-1])
    )
    token = settings.get("SNYK_TOKEN")
    if token:
        snyk = runner.local(
            ["npx", "--yes", "snyk", "test", "--json"],
            cwd=str(node.APP_DIR),
            env={"SNYK_TOKEN": token},
            check=False,
            quiet=True,
            changes=False,
        )
        reports.append(parse_snyk(snyk.stdout))
    else:
        result.add("snyk", None, "skipped: SNYK_TOKEN is not set")
    for findings in reports:
        judge(result, findings, strict)
    return result, reports
