// Import of businesses: progress while the file is read, and while the confirmed import is written.
// Progressive enhancement only: without this file both forms post as usual and the next page says how it went.

function showProgress(form) {
  const box = form.querySelector(".import-progress");
  if (box) box.hidden = false;
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  return box;
}

function setUpUpload(form) {
  // Reading a large workbook takes a few seconds: show that something is happening (the form still posts).
  form.addEventListener("submit", () => {
    setTimeout(() => showProgress(form), 0);
  });
}

function setUpConfirm(form) {
  form.addEventListener("submit", (event) => {
    if (!window.fetch || !window.FormData) return; // the plain form post still works
    event.preventDefault();
    const box = showProgress(form);
    const bar = box ? box.querySelector("progress") : null;
    const label = box ? box.querySelector(".import-progress-label") : null;
    let finished = false;

    const poll = () => {
      if (finished) return;
      fetch(form.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .then((state) => {
          if (finished || !state) return;
          if (bar && state.total) {
            bar.max = state.total;
            bar.value = state.done;
          }
          if (label && state.label) label.textContent = state.label;
        })
        .catch(() => {})
        .finally(() => {
          if (!finished) setTimeout(poll, 500);
        });
    };
    setTimeout(poll, 300);

    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then((response) => response.json())
      .then((answer) => {
        finished = true;
        if (bar) bar.value = bar.max;
        window.location.assign(answer.redirect);
      })
      .catch(() => {
        // No answer we can read (the connection dropped, or an error page): the page as the server sees it now
        // says what happened; posting again is harmless, a second attempt is refused while the first runs.
        finished = true;
        window.location.reload();
      });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form.import-upload").forEach(setUpUpload);
  document.querySelectorAll("form.import-confirm").forEach(setUpConfirm);
});
