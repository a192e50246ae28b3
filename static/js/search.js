// Suggestions under the search box, from the third letter: a combobox (WAI-ARIA 1.2 pattern) over links.
// Progressive enhancement: without this file the box is a plain form that opens the results page.
function setUpSearchBox(form) {
  const input = form.querySelector("[role=combobox]");
  const list = form.querySelector("[role=listbox]");
  const status = form.querySelector("[data-suggest-status]");
  let items = [];
  let active = -1;
  let timer = null;
  let latest = 0;

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (index) => {
    active = index;
    items.forEach((li, i) => li.setAttribute("aria-selected", i === index ? "true" : "false"));
    if (index >= 0) input.setAttribute("aria-activedescendant", items[index].id);
    else input.removeAttribute("aria-activedescendant");
  };
  const show = (found) => {
    items = found.map((item, i) => {
      const li = document.createElement("li");
      li.id = `search-suggestion-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      const link = document.createElement("a");
      link.href = item.url;
      link.tabIndex = -1;
      const kind = document.createElement("span");
      kind.className = "badge";
      kind.textContent = item.kind; // text, never markup: titles are what people typed
      // A meeting's day tells apart the meetings of a series, which share its title.
      const title = item.day ? item.title + " · " + item.day : item.title;
      link.append(document.createTextNode(title + " "), kind);
      li.append(link);
      li.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus in the box
      return li;
    });
    list.replaceChildren(...items);
    if (!items.length) { close(); status.textContent = ""; return; }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(-1);
    status.textContent = items.length === 1 ? status.dataset.one : status.dataset.many.replace("{n}", items.length);
  };
  const ask = () => {
    const typed = input.value.trim();
    if (typed.replace(/[\s\p{P}\p{S}]/gu, "").length < 3) { close(); return; }
    const ticket = ++latest;
    fetch(`${form.dataset.suggestUrl}?q=${encodeURIComponent(typed)}`, { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((data) => { if (ticket === latest) show(data.items); })
      .catch(() => close());
  };

  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 150); });
  input.addEventListener("keydown", (event) => {
    if (list.hidden) return;
    if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % items.length); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active <= 0 ? items.length - 1 : active - 1); }
    else if (event.key === "Escape") { event.preventDefault(); close(); } // the list closes, the words stay
    else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      window.location.assign(items[active].querySelector("a").href);
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
}

// The results page's unit filter comes with the top levels only: every unit the person may choose is brought
// here, from a list the browser keeps. Without this file (or when the list cannot be had) the top levels stay.
function fillUnits(select) {
  fetch(select.dataset.unitsUrl, { headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((data) => {
      const chosen = select.value;
      if (chosen && !data.items.some((unit) => unit.code === chosen)) return;
      const all = select.options[0];
      const options = data.items.map((unit) => new Option(unit.name, unit.code, false, unit.code === chosen));
      select.replaceChildren(all, ...options);
      select.value = chosen;
    })
    .catch(() => {});
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-suggest-url]").forEach(setUpSearchBox);
  document.querySelectorAll("select[data-units-url]").forEach(fillUnits);
});
