"""Status check constraints: every status-like column holds one of its enum's values

Revision ID: 3c51a0e2d7b4
Revises: 82894e580619
Create Date: 2026-11-29 03:55:00

The values are written out here, as they were when this ran: a later value needs its own
migration that drops and recreates the constraint.
"""

from alembic import op

revision = "3c51a0e2d7b4"
down_revision = "82894e580619"
branch_labels = None
depends_on = None

STAGES = ("survey", "diagnosis", "rectification", "training", "plan", "evaluation")
SEVERITIES = ("severe", "general", "observation")
DIRECTIONS = ("higher", "lower")

#: table → [(column, allowed values)]
CHECKS = {
    "user": [("role", ("admin", "staff", "expert", "firm"))],
    "framework": [("domain", ("quality", "brand")), ("scale", ("band", "maturity"))],
    "framework_item": [("kind", ("process", "result"))],
    "kpi": [("direction", DIRECTIONS)],
    "stage_mark": [("stage", STAGES)],
    "diagnosis": [
        ("round", ("baseline", "final")),
        ("status", ("draft", "submitted", "returned", "accepted")),
    ],
    "finding": [("severity", SEVERITIES), ("disposition", ("rectify", "carry"))],
    "work_target": [("direction", DIRECTIONS)],
    "rectification_item": [
        ("severity", SEVERITIES),
        ("status", ("open", "in_progress", "submitted", "verified", "returned", "waived")),
    ],
    "visit": [("status", ("logged", "confirmed", "disputed"))],
    "follow_up_plan": [("status", ("draft", "submitted", "approved", "returned"))],
    "evaluation": [("verdict", ("met", "basically_met", "not_met"))],
    "report_job": [("status", ("queued", "running", "done", "failed"))],
}


def upgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in checks:
                listed = ", ".join(f"'{value}'" for value in values)
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), f"{column} IN ({listed})"
                )


def downgrade() -> None:
    for table, checks in reversed(CHECKS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, _values in checks:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
