"""Forms for adding, editing and finding firms."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    FormField,
    IntegerField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from pilot import reference
from pilot.firms import credit_code, services
from pilot.forms import (
    FIRST_YEAR,
    LAST_YEAR,
    AppForm,
    FiniteDecimal,
    MultiCheckboxField,
    RowForm,
    VersionField,
    choices,
    parsed,
    strip,
)

CONTACT_ROWS = 3
CONTACT_KEYS = ("name", "title", "phone", "email")


def _options(pairs, blank) -> list[SelectChoice]:
    """Select options from (value, label) pairs, after a first blank option."""
    return choices([("", blank), *pairs])


def district_options() -> list[SelectChoice]:
    return _options(reference.district_choices(), "—")


def industry_options() -> list[SelectChoice]:
    return _options(reference.industry_choices(), "—")


def normalise_code(value):
    return credit_code.normalise(value) if isinstance(value, str) else value


class CreditCode:
    """A unified social credit code with a correct GB 32100 check character."""

    def __init__(self, message=None):
        self.message = message or _l(
            "This is not a valid unified social credit code: it has 18 characters "
            "and the last one must match the check character."
        )

    def __call__(self, form, field):
        if field.data and not credit_code.is_valid(field.data):
            raise ValidationError(self.message)


class ContactForm(RowForm):
    """One contact person; a row left empty is dropped."""

    name = StringField(
        lazy_pgettext("person", "Name"), validators=[Length(max=100)], filters=[strip]
    )
    title = StringField(_l("Position"), validators=[Length(max=100)], filters=[strip])
    phone = StringField(_l("Phone"), validators=[Length(max=32)], filters=[strip])

    def validate_phone(self, field):
        if message := services.phone_problem(field.data or ""):
            raise ValidationError(message)

    email = StringField(
        _l("E-mail"),
        validators=[
            Optional(),
            Length(max=254),
            Regexp(services.EMAIL_PATTERN, message=_l("This is not an e-mail address.")),
        ],
        filters=[strip],
    )

    def validate_name(self, field):
        if not field.data and any(self[key].data for key in CONTACT_KEYS if key != "name"):
            raise ValidationError(_l("Give the contact's name."))


def _decimal(label, max_value: str, places: int = 2) -> DecimalField:
    return DecimalField(
        label,
        places=places,
        validators=[
            Optional(),
            parsed,
            FiniteDecimal(places=places),
            NumberRange(
                min=0,
                max=Decimal(max_value),
                message=_l("Give a number from 0 to %(max)s.", max=max_value),
            ),
        ],
    )


class FirmForm(AppForm):
    name = StringField(
        _l("Firm name"), validators=[InputRequired(), Length(max=200)], filters=[strip]
    )
    credit_code = StringField(
        _l("Unified social credit code"),
        validators=[InputRequired(), Length(max=18), CreditCode()],
        filters=[normalise_code],
    )
    # Choices are callables: their names follow the language of the request.
    district = SelectField(_l("District"), choices=district_options, validators=[InputRequired()])
    industry_code = SelectField(
        _l("Industry (GB/T 4754 division)"), choices=industry_options, validators=[InputRequired()]
    )
    mujun_class = SelectField(
        _l("Per-mu (亩均) evaluation class"),
        choices=choices((c, c) for c in reference.MUJUN_CLASSES),
        validators=[InputRequired()],
    )
    mujun_year = IntegerField(
        _l("Year of the per-mu evaluation"),
        validators=[
            InputRequired(),
            parsed,
            NumberRange(
                min=FIRST_YEAR,
                max=LAST_YEAR,
                message=_l(
                    "Give a year between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR
                ),
            ),
        ],
    )
    land_mu = _decimal(_l("Land (mu)"), str(services.LAND_MAX))
    employees = IntegerField(
        _l("Employees"),
        validators=[
            Optional(),
            parsed,
            NumberRange(
                min=0, max=services.EMPLOYEES_MAX, message=_l("Give a number from 0 to 10,000,000.")
            ),
        ],
    )
    revenue = _decimal(_l("Annual revenue (10,000 RMB)"), str(services.REVENUE_MAX))
    address = StringField(_l("Address"), validators=[Length(max=300)], filters=[strip])
    contacts = FieldList(
        FormField(ContactForm), label=_l("Contact people"), min_entries=CONTACT_ROWS, max_entries=20
    )
    certifications = MultiCheckboxField(
        _l("Certifications"),
        choices=choices(reference.CERTIFICATIONS.items()),
    )
    awards = TextAreaField(_l("Awards"), validators=[Length(max=5000)], filters=[strip])
    brands = TextAreaField(
        _l("Brands and trademarks"), validators=[Length(max=5000)], filters=[strip]
    )

    def contact_rows(self) -> list[dict[str, str]]:
        """The filled-in contact rows, empty ones dropped."""
        rows = [
            {key: entry.form[key].data or "" for key in CONTACT_KEYS} for entry in self.contacts
        ]
        return [row for row in rows if any(row.values())]


class EditFirmForm(FirmForm):
    """Changing a firm: the version the page showed, so a stale save is refused."""

    version = VersionField()


class FirmFilterForm(AppForm):
    """The search box and filters above the firm list (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Name or credit code"), validators=[Length(max=200)], filters=[strip])
    district = SelectField(
        _l("District"),
        choices=lambda: _options(reference.district_choices(), _l("All")),
        validate_choice=False,
    )
    industry = SelectField(
        _l("Industry"),
        choices=lambda: _options(reference.industry_choices(), _l("All")),
        validate_choice=False,
    )


class RosterForm(AppForm):
    """The roster upload: a workbook, and whether firms already registered are changed."""

    file = FileField(
        _l("Roster workbook (.xlsx)"), validators=[FileRequired(_l("Choose a workbook."))]
    )
    update = BooleanField(_l("Update firms already registered with the file's values"))
