// Import of businesses: progress while the file is read, and while the confirmed import is written.
// Progressive enhancement only: without this file both forms post as usual and the next page says how it went
// (a page that reloads itself while the worker writes).

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
        if (!answer.wait) {
          finished = true;
          if (bar) bar.value = bar.max;
          window.location.assign(answer.redirect);
          return;
        }
        // The worker writes in the background: follow its progress, then go and see how it ended.
        const follow = () => {
          fetch(form.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
            .then((response) => (response.ok ? response.json() : null))
            .then((state) => {
              if (state && (state.finished || state.failed)) {
                finished = true;
                window.location.assign(answer.redirect);
              } else {
                setTimeout(follow, 500);
              }
            })
            .catch(() => setTimeout(follow, 1000));
        };
        follow();
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
