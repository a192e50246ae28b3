// The check-in page at the door, made for a tablet held in one hand: the list narrows as one types (accents
// ignored), one tap records a person without reloading the page, and a name nobody on the list matches is
// carried into the walk-in form, so that a walk-in takes the name and one more tap. Every result is written
// into a live region for screen readers. Without this file the page still works with plain form posts.
(function () {
  const root = document.querySelector("[data-check-in]");
  if (!root) return;
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d")
    .replace(/Đ/g, "D").toLowerCase().replace(/\s+/g, " ").trim();
  const find = root.querySelector("[data-find]");
  const people = Array.from(root.querySelectorAll("[data-search]"));
  const status = root.querySelector("[data-status]");
  const noMatch = root.querySelector("[data-no-match]");
  const walkIn = root.querySelector("[data-walk-in]");
  const walkInName = walkIn.querySelector("[name=name]");
  let carried = ""; // the name last carried into the walk-in form, so a name typed there is never overwritten

  const say = (message, ok) => {
    status.textContent = message;
    status.className = "check-in-status flash " + (ok ? "flash-success" : "flash-error");
  };

  // Words in any order, each the beginning of a word of the name or the business ("dang hong" finds
  // "Đặng Thị Hồng"), as the search box reads what is typed.
  const wordsOf = (text) => text.split(/[^a-z0-9]+/).filter(Boolean);
  people.forEach((li) => { li.words = wordsOf(li.dataset.search); });
  find.addEventListener("input", () => {
    const wanted = fold(find.value);
    const typed = wordsOf(wanted);
    let shown = 0;
    people.forEach((li) => {
      li.hidden = typed.length > 0 && !typed.every((word) => li.words.some((w) => w.startsWith(word)));
      if (!li.hidden) shown += 1;
    });
    noMatch.hidden = wanted === "" || shown > 0;
    if (walkInName.value === carried) {
      carried = shown === 0 ? find.value.trim() : "";
      walkInName.value = carried;
    }
  });

  const record = (form, button) => {
    const body = new FormData(form);
    if (button && button.name) body.set(button.name, button.value);
    return fetch(form.action, { method: "POST", body, headers: { Accept: "application/json" } })
      .then((response) => response.json());
  };

  const startAgain = () => {
    find.value = "";
    find.dispatchEvent(new Event("input"));
    find.focus();
  };

  root.addEventListener("submit", (event) => {
    const form = event.target;
    const button = event.submitter;
    // Only the one-tap records: looking up another business's people (a GET) opens its page as usual, and a
    // walk-in is sent as a plain form, whose answer is the page with the new person in its list.
    if (form.method.toLowerCase() !== "post" || form === walkIn) return;
    event.preventDefault();
    record(form, button)
      .then((data) => {
        say(data.message, data.ok);
        if (!data.ok) return;
        const li = form.closest("li");
        li.className = li.className.replace(/state-\S+/, "state-" + data.attendance);
        form.querySelectorAll("button[name=attendance]").forEach((other) => {
          const pressed = other.value === data.attendance;
          other.setAttribute("aria-pressed", pressed ? "true" : "false");
          if (pressed) li.querySelector("[data-state]").textContent = "✓ " + other.textContent;
        });
        startAgain();
      })
      .catch(() => form.submit());
  });
})();
