// The only script of the pages (no inline script: the Content-Security-Policy forbids it).
// A <select data-autosubmit> sends its form when the choice changes; without script a button does.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) {
    select.form.submit();
  }
});

// A form sent once is not sent again by a second click while the page waits for the answer
// (the server makes one record per create form page anyway). The button is not disabled, so
// the button pressed still sends its name. A form that answers with a download leaves the
// page in place: it may be sent again after a few seconds, or at once when the page is shown
// again from the back button.
const RESEND_AFTER_MS = 8000;
document.addEventListener("submit", (event) => {
  const form = event.target;
  if ((form.method || "").toLowerCase() !== "post") {
    return;
  }
  if (form.dataset.sending) {
    event.preventDefault();
    return;
  }
  form.dataset.sending = "1";
  setTimeout(() => delete form.dataset.sending, RESEND_AFTER_MS);
});
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-sending]").forEach((form) => delete form.dataset.sending);
});

// A button marked data-print prints the page (the print stylesheet leaves the navigation out).
document.addEventListener("click", (event) => {
  if (event.target.closest("button[data-print]")) {
    window.print();
  }
});
