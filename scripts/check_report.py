"""The tally every deploy checker prints: one `ok`/`FAIL` line per check, counted for the
closing `RESULT passed=N failed=M` line that scripts/check-deploy.sh reads."""

from __future__ import annotations


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, why: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}{': ' + why if why else ''}")
        return ok
