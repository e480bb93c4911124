"""Flask extensions, created unbound and initialised in create_app()."""

import sqlmodel
from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect

db = SQLAlchemy(session_options={"class_": sqlmodel.Session, "expire_on_commit": False})
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
