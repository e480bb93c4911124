// The only script of the pages (no inline script: the Content-Security-Policy forbids it).
// A <select data-autosubmit> sends its form when the choice changes; without script a button does.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) {
    select.form.submit();
  }
});
