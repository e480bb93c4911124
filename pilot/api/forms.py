"""The profile page's token form."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from pilot.forms import AppForm


class TokenForm(AppForm):
    name = StringField(
        _l("What will use it"),
        validators=[DataRequired(), Length(max=100)],
        render_kw={"placeholder": _l("e.g. the city data platform")},
    )
