"""What the visit pages show: one visit with its answer forms, and a batch's hours."""

from decimal import Decimal

from flask import render_template
from flask_login import current_user

from pilot.batches.models import Batch
from pilot.cases.models import Case
from pilot.extensions import db
from pilot.visits import queries, services
from pilot.visits.forms import ConfirmVisitForm, DisputeVisitForm
from pilot.visits.models import Visit, VisitStatus


def render_show(visit: Visit, case: Case, confirm_form=None, dispute_form=None, status=200):
    people = queries.visit_people(db.session, visit)
    return render_template(
        "visits/show.html",
        visit=visit,
        confirmed=visit.status == VisitStatus.CONFIRMED,
        case=case,
        photos=queries.visit_photos(db.session, visit),
        logged_by=people.get(visit.logged_by_id),
        answered_by=people.get(visit.answered_by_id),
        answered_for_the_firm=bool(visit.answered_by_id)
        and services.confirms_for_the_firm(people[visit.answered_by_id]),
        confirms_for_the_firm=services.confirms_for_the_firm(current_user),
        confirm_form=confirm_form or ConfirmVisitForm(),
        dispute_form=dispute_form or DisputeVisitForm(),
    ), status


def render_hours(batch: Batch):
    summary = queries.hours_summary(db.session, batch)
    delivered: Decimal = summary["delivered"]
    bought: Decimal = summary["bought"] or Decimal(0)
    return render_template(
        "visits/hours.html",
        batch=batch,
        experts=summary["experts"],
        firms=summary["firms"],
        delivered=delivered,
        bought=bought,
        pending=sum((r.pending for r in summary["experts"]), Decimal(0)),
        firms_confirmed=sum((r.confirmed for r in summary["firms"]), Decimal(0)),
        firms_pending=sum((r.pending for r in summary["firms"]), Decimal(0)),
        share=delivered / bought if bought > 0 else None,
        remaining=max(bought - delivered, Decimal(0)),
    )
