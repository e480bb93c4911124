"""One record per form page: a create form's token, so a double click or a resent form makes no
second record."""
