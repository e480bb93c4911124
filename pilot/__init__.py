"""Pilot Case Manager (质量提升试点 · 一企一策案件管理)."""

import os
from pathlib import Path

from flask import Flask

from pilot.config import PLACEHOLDER_KEYS, PROJECT_ROOT, DefaultConfig, env_overrides


def create_app(test_config: dict | None = None) -> Flask:
    instance_path = (
        (test_config or {}).get("INSTANCE_PATH")
        or os.environ.get("PILOT_INSTANCE_PATH")
        or str(PROJECT_ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    from pilot.form_limits import PilotRequest

    app.request_class = PilotRequest
    app.config.from_object(DefaultConfig)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(env_overrides())
    else:
        app.config.update(test_config)
    configure_paths(app)

    from pilot import errors, i18n, security
    from pilot.extensions import csrf, db, limiter, login_manager

    db.init_app(app)
    limiter.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    register_database_events(app)
    register_blueprints(app)
    register_template_helpers(app)

    from pilot import cli

    cli.init_app(app)
    return app


def configure_paths(app: Flask) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = "sqlite:///" + str(Path(app.instance_path) / "pilot.sqlite")
    app.config.setdefault("SQLALCHEMY_ENGINES", {"default": app.config["DATABASE_URL"]})
    for key, folder in (("FILES_PATH", "files"), ("REPORTS_PATH", "reports")):
        if not app.config.get(key):
            app.config[key] = str(Path(app.instance_path) / folder)
    if not app.config.get("QUEUE_FILE"):
        app.config["QUEUE_FILE"] = str(Path(app.instance_path) / "queue.sqlite")
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config["SESSION_COOKIE_SECURE"])
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config["MAX_CONTENT_LENGTH"] = max(
        app.config["MAX_REQUEST_BYTES"], app.config["MAX_UPLOAD_BYTES"] + 1024 * 1024
    )
    if app.config["SECRET_KEY"] in PLACEHOLDER_KEYS and not (app.debug or app.testing):
        # A cookie signed with a published key would let anyone sign in as anyone.
        raise RuntimeError(
            "SECRET_KEY is the placeholder: set PILOT_SECRET_KEY (or SECRET_KEY in "
            "instance/config.py) to a long random value; `make run` writes one."
        )


def register_database_events(app: Flask) -> None:
    from pilot.database import register_engine_events
    from pilot.extensions import db

    with app.app_context():
        register_engine_events(db.engine)


def register_blueprints(app: Flask) -> None:
    from pilot.accounts.views import bp as accounts_bp
    from pilot.api.tokens import bp as tokens_bp
    from pilot.api.views import bp as api_bp
    from pilot.batches.views import bp as batches_bp
    from pilot.board.views import bp as board_bp
    from pilot.cases.views import bp as cases_bp
    from pilot.diagnosis.views import bp as diagnosis_bp
    from pilot.evaluation.views import bp as evaluation_bp
    from pilot.files.views import bp as files_bp
    from pilot.firms.views import bp as firms_bp
    from pilot.fonts import bp as fonts_bp
    from pilot.frameworks.views import bp as frameworks_bp
    from pilot.ledger.views import bp as ledger_bp
    from pilot.notifications.views import bp as notifications_bp
    from pilot.plan.views import bp as plan_bp
    from pilot.rectification.views import bp as rectification_bp
    from pilot.reports.views import bp as reports_bp
    from pilot.survey.views import bp as survey_bp
    from pilot.training.views import bp as training_bp
    from pilot.visits.views import bp as visits_bp

    for bp in (
        accounts_bp,
        board_bp,
        batches_bp,
        firms_bp,
        cases_bp,
        files_bp,
        fonts_bp,
        survey_bp,
        visits_bp,
        diagnosis_bp,
        frameworks_bp,
        rectification_bp,
        training_bp,
        plan_bp,
        evaluation_bp,
        reports_bp,
        notifications_bp,
        ledger_bp,
        tokens_bp,
        api_bp,
    ):
        app.register_blueprint(bp)


def register_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    from pilot import permissions, reference, stages
    from pilot.database import today
    from pilot.notifications.views import unread_count

    app.jinja_env.globals.update(
        can=permissions.can,
        may_act_somewhere=permissions.may_act_somewhere,
        can_see_verification_queue=permissions.can_see_verification_queue,
        STAGES=stages.STAGES,
        STATUS_LABELS=stages.STATUS_LABELS,
        current_label=stages.current_label,
        industry_name=reference.industry_name,
        district_name=reference.district_name,
        today=today,
        unread_notifications=unread_count,
        get_locale=get_locale,
        colon=lambda: "：" if get_locale().language == "zh" else ": ",
    )
