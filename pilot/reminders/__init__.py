"""The e-mail digest: what waits on each user, sent daily or weekly (`pilot remind`)."""
