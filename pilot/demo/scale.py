"""Province-scale demo data: the demo batch made through the services, then copied in bulk.

The 20-firm demo batch (`load_demo`) is the template: every record its services wrote for a case
(assignments, survey, visits, diagnoses, scores, findings, items, notes, attendance, plan,
actuals, ratings, evaluation, files, report archives, the case's audit trail) is copied row by
row for each new firm, with new ids, its foreign keys pointing at the copies, and every date and
time moved back by the batch's offset, so each copy keeps the template's stage facts and the
order of its dates. The batch's own records (training sessions, frameworks) are copied once per
batch. New batches start half a year apart, the newest being the demo batch.

Copied uploads are hard links to the template's files; copied report archives point at one
small placeholder PDF saying that the report was not rendered.
"""

import hashlib
import os
import secrets
import shutil
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlmodel import Session, SQLModel

from pilot import (
    data_version,
    fonts,
    models,  # noqa: F401  (every table in the metadata)
)
from pilot.demo import data
from pilot.demo.build import load_demo, org_code
from pilot.firms.credit_code import complete

TEMPLATE = len(data.FIRMS)
BATCH_WEEKS = 26

#: Tables every batch shares: copied never.
SHARED = {"framework", "framework_category", "framework_item", "kpi", "report_job"}
#: stored_file.owner_type -> the table its owner_id names.
FILE_OWNERS = {
    "case": "case",
    "finding": "finding",
    "item": "rectification_item",
    "visit": "visit",
    "training": "training_session",
    "actual": "kpi_actual",
}

PLACES = [
    "郑州", "开封", "洛阳", "平顶山", "安阳", "鹤壁", "新乡", "焦作", "濮阳",
    "许昌", "漯河", "三门峡", "南阳", "商丘", "信阳", "周口", "驻马店", "济源",
]  # fmt: skip
FIRST = "华恒中金宏瑞航嵩豫好精德康宇卓锦雅永"
SECOND = "泰通源盛达兴隆昌丰和信诚利鑫"
PREFIXES = ("巩义市", "登封市", "荥阳市", "新郑市", "中牟县", "郑州上街", "郑州")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建华", "志强", "秀英", "海燕", "国平", "文静", "立新", "红梅", "振宇", "雪梅"]


def _trade(name: str) -> str:
    """The trade part of a demo firm's name: 郑州华岳耐火材料有限公司 -> 耐火材料有限公司."""
    prefix = next(p for p in PREFIXES if name.startswith(p))
    return name[len(prefix) + 2 :]


def firm_name(n: int, template: str) -> str:
    brand = FIRST[n % len(FIRST)] + SECOND[(n // len(FIRST)) % len(SECOND)]
    place = PLACES[(n // (len(FIRST) * len(SECOND))) % len(PLACES)]
    return f"{place}{brand}{_trade(template)}"


def person_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]


def load_scale(session: Session, firms: int, per_batch: int = 200) -> str:
    """The demo batch, then copies of its 20 cases until `firms` firms in batches of
    `per_batch` (both multiples of 20). Commits."""
    if firms < TEMPLATE or firms % TEMPLATE or per_batch % TEMPLATE or per_batch < TEMPLATE:
        raise ValueError(f"firms and per_batch must be multiples of {TEMPLATE}")
    load_demo(session)
    session.commit()
    return copy_cases(session, firms, per_batch)


def copy_cases(session: Session, firms: int, per_batch: int) -> str:
    """Copy the demo batch, alone in the database, until `firms` firms. Commits."""
    copier = _Copier(session.connection(), firms // TEMPLATE, per_batch // TEMPLATE)
    copier.run()
    session.commit()
    return (
        f"Loaded {copier.batches} batches, {firms} firms "
        f"({per_batch} per batch, {copier.experts} experts)."
    )


class _Copier:
    def __init__(self, conn: sa.Connection, copies: int, per_batch: int):
        self.conn = conn
        self.links: list[tuple[str, str]] = []  # (template's storage key, the copy's)
        self.reports: list[str] = []  # the copied archives' storage keys
        self._placeholder: bytes | None = None
        self.copies = copies  # copy 0 is the template itself
        self.per_batch = per_batch  # copies per batch
        self.batches = -(-copies // per_batch)
        self.tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
        self.rows = {name: self._read(t) for name, t in self.tables.items()}
        self.stride = {
            name: max((r["id"] for r in rows), default=0)
            for name, rows in self.rows.items()
            if "id" in self.tables[name].c
        }
        (self.template_batch,) = self.rows["batch"]
        self._scopes()
        self._people()
        self.experts = len(self.expert_ids)

    def _read(self, table: sa.Table) -> list[dict]:
        order = [table.c.id] if "id" in table.c else list(table.primary_key.columns)
        return [dict(r._mapping) for r in self.conn.execute(sa.select(table).order_by(*order))]

    # Which rows belong to a case, which to the batch --------------------------------------------

    def _scopes(self) -> None:
        """scope[table][id] is "case" or "batch" for every row copied with its case or batch."""
        cases = {r["id"]: "case" for r in self.rows["case"]}
        self.scope: dict[str, dict[int, str]] = {"case": cases}
        self.copied: list[str] = []
        for name, table in self.tables.items():
            if name in SHARED or name in ("user", "firm", "batch", "case"):
                continue
            self.copied.append(name)
            scopes = self.scope.setdefault(name, {}) if "id" in table.c else None
            kept = []
            for row in self.rows[name]:
                scope = self._row_scope(table, row)
                if scope is None:
                    continue  # not a case's or a batch's record (e.g. an admin's audit row)
                kept.append((scope, row))
                if scopes is not None:
                    scopes[row["id"]] = scope
            self.rows[name] = kept

    def _row_scope(self, table: sa.Table, row: dict) -> str | None:
        found = None
        for fk in table.foreign_keys:
            value = row[fk.parent.name]
            target = fk.column.table.name
            if value is None:
                continue
            if target == "case" or self.scope.get(target, {}).get(value) == "case":
                return "case"
            if target == "batch" or self.scope.get(target, {}).get(value) == "batch":
                found = "batch"
        return found

    # People and firms ---------------------------------------------------------------------------

    def _people(self) -> None:
        users = self.rows["user"]
        template_experts = [u for u in users if u["role"] == "expert"]
        self.firm_user_of = {u["firm_id"]: u for u in users if u["role"] == "firm"}
        next_user = self.stride["user"] + 1
        # Four experts per copy of a batch: every batch is served by the same pool.
        self.expert_ids: list[int] = [u["id"] for u in template_experts]
        new_users, new_firms = [], []
        pool = len(template_experts) * min(self.per_batch, self.copies)
        for n in range(len(template_experts), pool):
            source = template_experts[n % len(template_experts)]
            new_users.append(
                source
                | {
                    "id": next_user,
                    "username": f"expert{n + 1}",
                    "display_name": person_name(n + 7),
                    "email": f"expert{n + 1}@example.cn",
                    "session_token": secrets.token_urlsafe(24),
                }
            )
            self.expert_ids.append(next_user)
            next_user += 1
        self.user_map: dict[tuple[int, int], int] = {}  # (copy, template user id) -> id
        self.firm_map: dict[tuple[int, int], int] = {}
        next_firm = self.stride["firm"] + 1
        for copy in range(1, self.copies):
            for i, firm in enumerate(self.rows["firm"]):
                n = copy * TEMPLATE + i
                person = person_name(n)
                new_firms.append(
                    firm
                    | {
                        "id": next_firm,
                        "name": firm_name(n, firm["name"]),
                        "credit_code": complete(
                            f"91{firm['district']}{org_code(35120000 + n * 7919)}"
                        ),
                        "contacts": [
                            {
                                "name": person,
                                "title": "质量部部长",
                                "phone": f"1380371{n:04d}",
                                "email": "",
                            }
                        ],
                        "created_at": self._shift(firm["created_at"], copy),
                    }
                )
                self.firm_map[copy, firm["id"]] = next_firm
                user = self.firm_user_of.get(firm["id"])
                if user:
                    new_users.append(
                        user
                        | {
                            "id": next_user,
                            "username": f"firm{n + 1:02d}",
                            "display_name": person,
                            "email": f"firm{n + 1:02d}@example.cn",
                            "firm_id": next_firm,
                            "session_token": secrets.token_urlsafe(24),
                            "created_at": self._shift(user["created_at"], copy),
                        }
                    )
                    self.user_map[copy, user["id"]] = next_user
                    next_user += 1
                next_firm += 1
        self.new_users, self.new_firms = new_users, new_firms
        self.template_experts = [u["id"] for u in template_experts]

    # Mapping ids and dates ----------------------------------------------------------------------

    def batch_of(self, copy: int) -> int:
        return copy // self.per_batch

    def _shift(self, value, copy: int):
        weeks = BATCH_WEEKS * self.batch_of(copy)
        if weeks and isinstance(value, date | datetime):
            return value - timedelta(weeks=weeks)
        return value

    def _user(self, copy: int, user_id: int | None) -> int | None:
        if user_id is None or copy == 0:
            return user_id
        if user_id in self.template_experts:
            k = self.template_experts.index(user_id)
            return self.expert_ids[(copy % self.per_batch) * len(self.template_experts) + k]
        return self.user_map.get((copy, user_id), user_id)  # staff act in every batch

    def _id(self, table: str, old: int | None, copy: int) -> int | None:
        """The copy's id of the record `old` of `table` (case-scoped: per copy; batch-scoped:
        per batch, the template batch's own rows standing for batch 0)."""
        if old is None:
            return None
        if table == "user":
            return self._user(copy, old)
        if table == "firm":
            return self.firm_map[copy, old] if copy else old
        if table == "batch":
            return old + self.batch_of(copy) * self.stride["batch"]
        scope = self.scope.get(table, {}).get(old)
        if scope == "case":
            return old + copy * self.stride[table]
        if scope == "batch":
            batch = self.batch_of(copy)
            return old + (self.copies - 1 + batch) * self.stride[table] if batch else old
        return old  # shared reference data

    # Writing ------------------------------------------------------------------------------------

    def run(self) -> None:
        self._insert("firm", self.new_firms)
        self._insert("user", self.new_users)
        self._insert("batch", [self._batch(b) for b in range(1, self.batches)])
        if self.batches > 1:  # the demo batch is the newest of several, not the first
            batch = self.tables["batch"]
            self.conn.execute(
                batch.update()
                .where(batch.c.id == self.template_batch["id"])
                .values(name=self._batch(0)["name"])
            )
        for name in ("case", *self.copied):
            table = self.tables[name]
            rows = [("case", r) for r in self.rows[name]] if name == "case" else self.rows[name]
            out = []
            for scope, row in rows:
                if scope == "case":
                    copies = range(1, self.copies)
                else:
                    copies = [b * self.per_batch for b in range(1, self.batches)]
                for copy in copies:
                    out.append(self._copy(table, row, copy))
            self._insert(name, out)
        self._files()
        # Written past the session: a new data version by hand.
        data_version.bump(self.conn)
        if self.conn.dialect.name == "postgresql":
            # The ids were given explicitly: move each table's sequence past them.
            for name, table in self.tables.items():
                if "id" in table.c and isinstance(table.c.id.type, sa.Integer):
                    # B608: table names from our own metadata, no outside input.
                    sql = f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), coalesce((SELECT max(id) FROM \"{name}\"), 0) + 1, false)"  # noqa: E501  # nosec B608
                    self.conn.execute(sa.text(sql))

    def _batch(self, b: int) -> dict:
        batch = self.template_batch
        start = batch["start_date"] - timedelta(weeks=BATCH_WEEKS * b)
        number = self.batches - b
        return batch | {
            "id": batch["id"] + b * self.stride["batch"],
            "name": f"{start.year}年第{number}批质量提升品牌培育试点",
            "year": start.year,
            "start_date": start,
            "end_date": batch["end_date"] - timedelta(weeks=BATCH_WEEKS * b),
            "contract_ref": f"ZZSJG-{start.year}-ZL-{number:03d}",
            "created_at": self._shift(batch["created_at"], b * self.per_batch),
        }

    def _copy(self, table: sa.Table, row: dict, copy: int) -> dict:
        new = {key: self._shift(value, copy) for key, value in row.items()}
        if "id" in table.c:
            new["id"] = self._id(table.name, row["id"], copy)
        for fk in table.foreign_keys:
            column = fk.parent.name
            new[column] = self._id(fk.column.table.name, row[column], copy)
        fix = getattr(self, f"_fix_{table.name}", None)
        if fix:
            fix(new, row, copy)
        return new

    def _fix_stored_file(self, new: dict, row: dict, copy: int) -> None:
        new["owner_id"] = self._id(FILE_OWNERS[row["owner_type"]], row["owner_id"], copy)
        token = uuid.uuid4().hex
        new["storage_key"] = f"{token[:2]}/{token[2:4]}/{token}"
        self.links.append((row["storage_key"], new["storage_key"]))

    def _fix_report_archive(self, new: dict, row: dict, copy: int) -> None:
        new["storage_key"] = f"{new['case_id']}/{uuid.uuid4().hex}.pdf"
        placeholder = self.placeholder()
        new["sha256"] = hashlib.sha256(placeholder).hexdigest()
        new["size"], new["pages"] = len(placeholder), 1
        self.reports.append(new["storage_key"])

    def _fix_audit_log(self, new: dict, row: dict, copy: int) -> None:
        if row["record_type"] in self.tables:
            new["record_id"] = self._id(row["record_type"], row["record_id"], copy)

    def placeholder(self) -> bytes:
        """One page saying the report of this copied case was never rendered."""
        if self._placeholder is None:
            from weasyprint import HTML

            font = fonts.font_path("sans")
            face = f"@font-face {{ font-family: P; src: url({font.as_uri()}); }}" if font else ""
            text = "规模测试数据：占位文件，报告未渲染。"
            html = f"<style>{face} p {{ font-family: P; }}</style><p>{text}</p>"
            self._placeholder = HTML(string=html).write_pdf()
        return self._placeholder

    def _insert(self, name: str, rows: list[dict]) -> None:
        table = self.tables[name]
        for start in range(0, len(rows), 5000):
            self.conn.execute(table.insert(), rows[start : start + 5000])

    def _files(self) -> None:
        files = Path(current_app.config["FILES_PATH"])
        for old, new in self.links:
            target = files / new
            target.parent.mkdir(parents=True, exist_ok=True)
            _link(files / old, target)
        if self.reports:
            reports = Path(current_app.config["REPORTS_PATH"])
            first = reports / self.reports[0]
            first.parent.mkdir(parents=True, exist_ok=True)
            first.write_bytes(self.placeholder())
            for key in self.reports[1:]:
                (reports / key).parent.mkdir(parents=True, exist_ok=True)
                _link(first, reports / key)


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
