"""Flask extensions, created unbound and initialised in create_app()."""

import sqlmodel
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect

db = SQLAlchemy(session_options={"class_": sqlmodel.Session, "expire_on_commit": False})
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
#: Throttling (sign-in): in memory by default, in Redis when REDIS_URL is set so that every worker
#: and every app machine counts together.
limiter = Limiter(key_func=get_remote_address)
