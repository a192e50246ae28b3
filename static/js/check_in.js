// The check-in page at the door: filter the invited people as you type (accents ignored), and record
// a tap without reloading the page. Without this file the page still works with plain form posts.
(function () {
  const root = document.querySelector("[data-check-in]");
  if (!root) return;
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d")
    .replace(/Đ/g, "D").toLowerCase().replace(/\s+/g, " ").trim();
  const find = root.querySelector("[data-find]");
  const people = Array.from(root.querySelectorAll("[data-search]"));
  const status = root.querySelector("[data-status]");
  find.addEventListener("input", () => {
    const wanted = fold(find.value);
    people.forEach((li) => { li.hidden = wanted !== "" && !li.dataset.search.includes(wanted); });
  });
  root.addEventListener("submit", (event) => {
    const form = event.target;
    const button = event.submitter;
    if (!button) return;
    event.preventDefault();
    const body = new FormData(form);
    body.set("attendance", button.value);
    fetch(form.action, { method: "POST", body, headers: { Accept: "application/json" } })
      .then((response) => response.json())
      .then((data) => {
        status.hidden = false;
        status.textContent = data.message;
        status.className = "flash " + (data.ok ? "flash-success" : "flash-error");
        if (data.ok) {
          const li = form.closest("li");
          li.className = li.className.replace(/state-\S+/, "state-" + data.attendance);
          find.value = "";
          find.dispatchEvent(new Event("input"));
          find.focus();
        }
      })
      .catch(() => form.submit());
  });
})();
