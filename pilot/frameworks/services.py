"""Loading assessment frameworks from YAML, checking that their points add up, superseding."""

import hashlib
import json
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

import yaml
from flask_babel import gettext as _
from sqlmodel import Session, select

from pilot.accounts.models import User
from pilot.audit.services import log
from pilot.diagnosis.models import DiagnosisFramework
from pilot.frameworks.models import (
    BatchFramework,
    Framework,
    FrameworkCategory,
    FrameworkItem,
    Scale,
)
from pilot.kpis.models import Kpi

SHIPPED = ("gbt19580-2012.yaml", "brand-maturity.yaml")


class FrameworkError(ValueError):
    """A framework file that cannot be loaded, with a message for the user."""


#: PyYAML's safe loader, in C when libyaml is there (PyPI's wheels have it): about ten times faster.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _points(value: Any, where: str) -> Decimal:
    try:
        points = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise FrameworkError(_("%(where)s: points must be a number.", where=where)) from None
    if points <= 0:
        raise FrameworkError(_("%(where)s: points must be above zero.", where=where))
    return points


def parse(text: str) -> dict[str, Any]:
    """Read and check a framework YAML document; return it with points as Decimals."""
    try:
        # YAML_LOADER is a safe loader: bandit cannot tell from its name.
        data = yaml.load(text, Loader=YAML_LOADER)  # nosec B506
    except yaml.YAMLError as error:
        raise FrameworkError(_("The file is not valid YAML: %(error)s", error=error)) from None
    if not isinstance(data, dict):
        raise FrameworkError(_("The file must describe one framework."))
    for key in ("code", "name", "domain", "scale", "total_points", "categories"):
        if key not in data:
            raise FrameworkError(_("The framework has no '%(key)s'.", key=key))
    if data["scale"] not in (Scale.BAND, Scale.MATURITY):
        raise FrameworkError(_("The scale must be 'band' or 'maturity'."))
    if data["domain"] not in ("quality", "brand"):
        raise FrameworkError(_("The domain must be 'quality' or 'brand'."))
    data["version"] = int(data.get("version", 1))
    data["total_points"] = total = _points(data["total_points"], str(data["code"]))
    if not data["categories"]:
        raise FrameworkError(_("The framework has no categories."))
    category_sum = Decimal(0)
    for category in data["categories"]:
        where = f"{category.get('code', '?')} {category.get('name', '')}"
        category["points"] = _points(category.get("points"), where)
        items = category.get("items") or []
        if not items:
            raise FrameworkError(_("%(where)s has no items.", where=where))
        item_sum = Decimal(0)
        for item in items:
            item["points"] = _points(item.get("points"), f"{item.get('code', '?')}")
            item_sum += item["points"]
        if item_sum != category["points"]:
            raise FrameworkError(
                _(
                    "%(where)s: its items add up to %(sum)s points, not %(points)s.",
                    where=where,
                    sum=item_sum,
                    points=category["points"],
                )
            )
        category_sum += category["points"]
    if category_sum != total:
        raise FrameworkError(
            _(
                "The categories add up to %(sum)s points, not the total of %(total)s.",
                sum=category_sum,
                total=total,
            )
        )
    return data


def is_in_use(session: Session, framework: Framework) -> bool:
    used_by_batch = session.exec(
        select(BatchFramework).where(BatchFramework.framework_id == framework.id).limit(1)
    ).first()
    used_by_diagnosis = session.exec(
        select(DiagnosisFramework).where(DiagnosisFramework.framework_id == framework.id).limit(1)
    ).first()
    return bool(used_by_batch or used_by_diagnosis)


def load(session: Session, actor: User | None, text: str) -> tuple[Framework, bool]:
    """Load a framework; return it and whether anything was written.

    The same code and version already loaded is left alone. A higher version supersedes the
    newest older one; batches keep the version they chose. A framework in use is never changed.
    """
    data = parse(text)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    same = session.exec(
        select(Framework).where(
            Framework.code == data["code"], Framework.version == data["version"]
        )
    ).first()
    if same and same.digest == digest:
        return same, False
    if same:
        if is_in_use(session, same):
            raise FrameworkError(
                _("This version is in use and cannot be changed: give the file a new version.")
            )
        _delete(session, same)
    newer = session.exec(
        select(Framework).where(Framework.code == data["code"], Framework.version > data["version"])
    ).first()
    if newer:
        raise FrameworkError(
            _("Version %(version)s of this framework exists already.", version=newer.version)
        )
    framework = Framework(
        code=data["code"],
        version=data["version"],
        name=data["name"],
        edition=data.get("edition", ""),
        domain=data["domain"],
        scale=data["scale"],
        total_points=data["total_points"],
        levels=data.get("levels") or [],
        note=data.get("note", ""),
        digest=digest,
    )
    session.add(framework)
    session.flush()
    for c_pos, c in enumerate(data["categories"]):
        category = FrameworkCategory(
            framework_id=framework.id,
            code=str(c["code"]),
            name=c["name"],
            points=c["points"],
            position=c_pos,
        )
        session.add(category)
        session.flush()
        for i_pos, i in enumerate(c["items"]):
            session.add(
                FrameworkItem(
                    framework_id=framework.id,
                    category_id=category.id,
                    code=str(i["code"]),
                    name=i["name"],
                    points=i["points"],
                    kind=i.get("kind", c.get("kind", "process")),
                    position=i_pos,
                )
            )
    older = session.exec(
        select(Framework)
        .where(Framework.code == data["code"], Framework.id != framework.id)
        .where(Framework.superseded_by_id.is_(None))
    ).all()
    for old in older:
        old.superseded_by_id = framework.id
    log(
        session,
        actor,
        framework,
        "load",
        after={"code": framework.code, "version": framework.version},
    )
    return framework, True


def _delete(session: Session, framework: Framework) -> None:
    for category in framework.categories:
        for item in category.items:
            session.delete(item)
        session.delete(category)
    session.delete(framework)
    session.flush()


def load_shipped(session: Session) -> list[Framework]:
    folder = resources.files("pilot.data").joinpath("frameworks")
    return [load(session, None, folder.joinpath(name).read_text("utf-8"))[0] for name in SHIPPED]


def load_kpi_catalogue(session: Session) -> int:
    """Add the shipped KPIs that are missing; return how many were added."""
    text = resources.files("pilot.data").joinpath("kpis.yaml").read_text("utf-8")
    rows = yaml.load(text, Loader=YAML_LOADER)  # nosec B506
    known = set(session.exec(select(Kpi.code)).all())
    added = 0
    for position, row in enumerate(rows):
        if row["code"] not in known:
            session.add(Kpi(**row, position=position))
            added += 1
    return added


def current_frameworks(session: Session) -> list[Framework]:
    """The newest version of every framework: what a new batch is offered."""
    return session.exec(
        select(Framework).where(Framework.superseded_by_id.is_(None)).order_by(Framework.id)
    ).all()


def framework_ids(session: Session, batch_id: int) -> list[int]:
    """The frameworks a batch diagnoses against."""
    return session.exec(
        select(BatchFramework.framework_id).where(BatchFramework.batch_id == batch_id)
    ).all()


def set_batch_frameworks(session: Session, batch_id: int, framework_ids: list[int]) -> None:
    """Choose the frameworks a batch diagnoses against."""
    current = set(
        session.exec(
            select(BatchFramework.framework_id).where(BatchFramework.batch_id == batch_id)
        ).all()
    )
    for framework_id in current - set(framework_ids):
        session.delete(session.get(BatchFramework, (batch_id, framework_id)))
    for framework_id in set(framework_ids) - current:
        session.add(BatchFramework(batch_id=batch_id, framework_id=framework_id))
