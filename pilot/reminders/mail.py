"""Sending e-mail through the SMTP server of the config (MAIL_* settings), with the standard
library's smtplib: one connection for a run, opened again after the server drops it."""

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from enum import StrEnum
from typing import Self

from flask import Flask


class Security(StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


class MailNotConfigured(RuntimeError):
    """A setting needed to send is missing; the message names it."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    security: Security
    sender: str
    timeout: float

    @classmethod
    def of(cls, app: Flask) -> Self:
        """The app's settings, or MailNotConfigured naming what is missing or wrong."""
        config = app.config
        for name in ("MAIL_HOST", "MAIL_SENDER", "BASE_URL"):
            if not config.get(name):
                raise MailNotConfigured(f"{name} is not set: e-mail cannot be sent.")
        security = str(config["MAIL_SECURITY"]).lower()
        if security not in list(Security):
            raise MailNotConfigured(
                f"MAIL_SECURITY must be one of {', '.join(Security)}, not {security!r}."
            )
        username = config.get("MAIL_USERNAME")
        password = config.get("MAIL_PASSWORD")
        return cls(
            host=str(config["MAIL_HOST"]),
            port=int(config["MAIL_PORT"]),
            username=str(username) if username else None,
            password=str(password) if password is not None else None,
            security=Security(security),
            sender=str(config["MAIL_SENDER"]),
            timeout=float(config["MAIL_TIMEOUT"]),
        )


@dataclass(frozen=True)
class Mail:
    to_name: str
    to_address: str
    subject: str
    text: str
    html: str


def compose(mail: Mail, sender: str) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML as the richer part."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((mail.to_name, mail.to_address))
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class Mailer:
    """Sends messages over one SMTP connection, opened at the first message: a refused
    recipient fails that message only; a dropped connection is opened again for the next one."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, mail: Mail) -> None:
        """Send one message; raises smtplib.SMTPException or OSError when it was not accepted."""
        message = compose(mail, self.settings.sender)
        try:
            self._connection().send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
            raise  # the server answered (and smtplib reset the transaction): the connection stays
        except OSError:
            self.close()  # dropped or broken: the next message opens a new connection
            raise

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            s = self.settings
            if s.security == Security.SSL:
                smtp = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            try:
                if s.security == Security.STARTTLS:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password or "")
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except OSError:  # smtplib's errors are OSErrors too
                self._smtp.close()
            self._smtp = None
