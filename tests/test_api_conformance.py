"""schemathesis (a third-party API fuzzer) against /api/v1/openapi.json with a token for each
role: every answer is documented (status, content type, JSON schema) and none is a 500.

Bounded and deterministic: a few examples per operation, derandomized, half of them aimed at the
world's real records (the rest at ids that mostly name nothing or something hidden).
"""

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pilot.api.services import issue_token
from pilot.rectification.services import add_item
from tests.conftest import TODAY

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Examples per operation and kind (fuzzed ids, real ids).
EXAMPLES = 2
#: A draft report is rendered on request (a second or more each): tests/test_api.py checks its
#: answers, the matrix who gets it.
LEFT_OUT = {"get_report"}


@pytest.fixture
def real_ids(session, world) -> dict:
    from datetime import date

    item = add_item(
        session,
        world.staff,
        world.case_a,
        description="质量目标未分解",
        severity="general",
        due_date=None,
        today=date.fromisoformat(TODAY),
    )
    session.commit()
    return {
        "case_id": world.case_a.id,
        "batch_id": world.batch.id,
        "firm_id": world.firm_a.id,
        "item_id": item.id,
        "visit_id": 1,
        "file_id": 1,
    }


@pytest.mark.parametrize("username", ["admin", "staff", "expert_a", "firm_a"])
def test_every_answer_matches_the_document(app, session, world, real_ids, username):
    user = {u.username: u for u in (world.admin, world.staff, world.expert_a, world.firm_user_a)}
    _token, secret = issue_token(session, user[username], "schemathesis")
    session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.definition.raw.get("operationId") not in LEFT_OUT
    ]
    assert len(operations) >= 20

    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        strategies = [operation.as_strategy()]
        if all(name in real_ids or name == "round_" for name in names):
            pinned = {name: real_ids[name] for name in names if name in real_ids}
            strategies.append(operation.as_strategy(path_parameters=pinned))
            # Invalid bodies and queries at real records: refused in the error shape, never a 500.
            if operation.body or operation.query:
                strategies.append(
                    operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=pinned)
                )

        @settings(
            max_examples=EXAMPLES * len(strategies),
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(*strategies))
        def run(case):
            # Each call in its own context, as a real request: its own `g` and database session.
            contextvars.Context().run(case.call_and_validate, headers=headers, checks=CHECKS)

        run()
