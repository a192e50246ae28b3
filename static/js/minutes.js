// The minutes form's live preview: each Markdown field rendered by the server (the same sanitiser as the
// page and the PDF) as you type. Without this file, the "Preview" button does the same on submit.
function setUpMinutesForm(form) {
  const url = form.dataset.previewUrl;
  const token = form.querySelector("input[name=csrf_token]");
  let timer = null;
  let latest = 0;
  const refresh = () => {
    const body = new FormData();
    ["agenda", "body", "conclusions"].forEach((name) => {
      const field = form.querySelector(`[name=${name}]`);
      if (field) body.append(name, field.value);
    });
    const ticket = ++latest;
    fetch(url, {
      method: "POST",
      body,
      headers: { Accept: "application/json", ...(token ? { "X-CSRFToken": token.value } : {}) },
      credentials: "same-origin",
    })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((data) => {
        if (ticket !== latest) return; // an older answer arriving late
        form.querySelectorAll("[data-preview-for]").forEach((panel) => {
          panel.innerHTML = data[panel.dataset.previewFor] || ""; // sanitised by the server
        });
      })
      .catch(() => {});
  };
  form.addEventListener("input", (event) => {
    if (!["agenda", "body", "conclusions"].includes(event.target.name)) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form.minutes-form[data-preview-url]").forEach(setUpMinutesForm);
});
