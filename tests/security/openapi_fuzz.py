"""Schemathesis over an OpenAPI document, as the frontend's and the backend's suites run it.

Every answer goes through ``CHECKS``: no 5xx, and a status, a media type and a body that the
document declares for that operation. Two passes share a time budget, the environment's
``CODENODE_FUZZ_SECONDS`` per document (60 by default, 300 in CI):

- every operation on its own: schemathesis' coverage cases once (bounds, values left out,
  wrong types, other methods), then, for each caller, a few generated inputs at a time, round
  after round (the first round always ends), for the first half;
- scenarios of the state machine over the document's links (a notebook made, then read,
  changed, deleted; an engine started, interrupted, stopped), until the budget is spent.

Hypothesis generates with no deadline and no example database; failures are gathered, not
raised, so that a run names every kind of failure it found (one example of each).
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

BUDGET_VARIABLE = "CODENODE_FUZZ_SECONDS"
DEFAULT_SECONDS = 60.0
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 5
"""Inputs per operation and caller in one round of the first pass."""
SCENARIOS = 10
"""State machine scenarios per run of Hypothesis; runs follow each other until the budget."""
STEPS = 10
"""Calls in a scenario, at most."""

FAST = settings(
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def budget(share: int = 1) -> float:
    """Seconds for one document's run, divided by *share* (runs of it on several databases)."""
    return float(os.environ.get(BUDGET_VARIABLE, DEFAULT_SECONDS)) / share


class Caller:
    """Someone who sends the fuzz's requests: *who* in reports, ``send`` to call, and
    ``tidy`` after each operation's round and each scenario (to undo what would spoil the
    rest of the run)."""

    who = "the caller"
    coverage = True
    """Whether the coverage cases are sent as this caller (as the one who may do the most)."""

    def send(self, case: Case[Any]) -> Response:
        return case.call(timeout=30)

    def tidy(self) -> None:
        """Nothing to undo, unless a subclass says otherwise."""


@dataclass
class Findings:
    """Every answer's status, and one example of each failure (per operation and caller)."""

    statuses: list[int] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    by_operation: defaultdict[str, Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter)
    )

    def check(self, case: Case[Any], response: Response, who: str) -> None:
        self.statuses.append(response.status_code)
        self.by_operation[case.operation.label][response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = f"{case.operation.label} as {who}: {failure.title}"
                self.failures.setdefault(key, f"{key}\n{str(group)[:2000]}")

    @property
    def successes(self) -> int:
        return sum(200 <= status < 300 for status in self.statuses)

    def table(self) -> str:
        """Each operation's answers by status, to print."""
        return "\n".join(
            f"{label:60} {dict(sorted(counts.items()))}"
            for label, counts in sorted(self.by_operation.items())
        )

    def report(self) -> str:
        return f"{len(self.failures)} kinds of failure:\n\n" + "\n\n".join(self.failures.values())


def each_operation(
    schema: Any, callers: Callable[[], Iterable[Caller]], findings: Findings, until: float
) -> None:
    """Every operation of *schema* for each caller, ``EXAMPLES`` inputs at a time, round
    after round until *until* (``time.monotonic``); the first round always ends. *callers*
    gives the callers of a round (fresh ones, say)."""
    operations = [result.ok() for result in schema.get_all_operations()]
    first = True
    while first or time.monotonic() < until:
        for caller in callers():
            for operation in operations:
                if not first and time.monotonic() >= until:
                    return
                if first and caller.coverage:
                    _cover(schema, operation, caller, findings)
                _fuzz(operation, caller, findings)
                caller.tidy()
        first = False


def _cover(schema: Any, operation: Any, caller: Caller, findings: Findings) -> None:
    """Schemathesis' coverage cases: each bound and its neighbours, each required value
    left out, values of the wrong type, other methods on the path (a few hundred in all)."""
    generation = schema.config.generation_for(operation=operation)
    for case in schema.iter_coverage_cases(
        operation, generation_modes=list(GenerationMode), generation_config=generation
    ):
        findings.check(case, caller.send(case), caller.who)


def _fuzz(operation: Any, caller: Caller, findings: Findings) -> None:
    # Mostly valid inputs, which reach the routes; some invalid, which the checks must refuse.
    inputs = st.one_of(
        operation.as_strategy(),
        operation.as_strategy(),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=inputs)
    @settings(FAST, max_examples=EXAMPLES)
    def call(case: Case[Any]) -> None:
        findings.check(case, caller.send(case), caller.who)

    call()


def follow_links(schema: Any, caller: Caller, findings: Findings, until: float) -> int:
    """Scenarios of *schema*'s state machine as *caller* until *until* (one run of
    ``SCENARIOS`` at least); how many runs were made."""
    base: Any = schema.as_state_machine()

    class Workflow(base):  # type: ignore[misc]
        def call(self, case: Case[Any], **kwargs: Any) -> Response:
            return caller.send(case)

        def validate_response(self, response: Response, case: Case[Any], **kwargs: Any) -> None:
            findings.check(case, response, caller.who)

        def teardown(self) -> None:
            caller.tidy()
            super().teardown()

    runs = 0
    while runs == 0 or time.monotonic() < until:
        Workflow.run(settings=settings(FAST, max_examples=SCENARIOS, stateful_step_count=STEPS))
        runs += 1
    return runs
