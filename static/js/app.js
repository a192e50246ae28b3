// Progressive enhancements only: every page works without this file.
// Loaded in <head> without defer, so this runs before the first paint: the phone menu starts folded.
document.documentElement.classList.add("js");

// The top bar's menu on a narrow screen: folded behind one button; Escape folds it and returns to the button.
function setUpMenu() {
  const toggle = document.querySelector("[data-menu-toggle]");
  const menu = document.querySelector("[data-menu]");
  if (!toggle || !menu) return;
  const setOpen = (open) => {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("is-open", open);
  };
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      toggle.focus();
    }
  });
}

document.addEventListener("submit", (event) => {
  // A question on the button pressed (a form with two actions), else on the form.
  const form = event.target;
  const button = event.submitter;
  const question = (button && button.dataset.confirm) || (form.dataset ? form.dataset.confirm : null);
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// The rule builder: show the fields the chosen preset needs, and preview the next meetings as the
// fields change. The form also works without this: its "Show the meetings" button asks the server.
function setUpSeriesForm(form) {
  const preset = form.querySelector("#preset");
  const end = form.querySelector("#end");
  const list = form.querySelector(".preview-list");
  const problem = form.querySelector(".preview-problem");
  const toggle = () => {
    form.querySelectorAll("[data-show-for]").forEach((el) => {
      el.hidden = !el.dataset.showFor.split(" ").includes(preset.value);
    });
    form.querySelectorAll("[data-show-for-end]").forEach((el) => {
      el.hidden = el.dataset.showForEnd !== end.value;
    });
  };
  let timer = null;
  let latest = 0;
  const refresh = () => {
    const params = new URLSearchParams(new FormData(form));
    params.delete("csrf_token");
    const ticket = ++latest;
    fetch(`${form.dataset.previewUrl}?${params}`, { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((data) => {
        if (ticket !== latest) return; // an older answer arriving late
        list.replaceChildren(...data.items.map((item) => {
          const li = document.createElement("li");
          li.innerHTML = item.label; // rendered and escaped by the server's template
          return li;
        }));
        problem.hidden = !data.problem;
        problem.textContent = data.problem || "";
      })
      .catch(() => {});
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  };
  form.addEventListener("input", schedule);
  form.addEventListener("change", () => { toggle(); schedule(); });
  toggle();
  refresh();
}

// A table wider than the screen scrolls in its box: the box then takes the keyboard's focus (arrows scroll
// it) and is named after the table's heading for screen readers.
function markScrollingTables() {
  document.querySelectorAll(".table-wrap, .chart-wrap").forEach((box) => {
    if (box.scrollWidth > box.clientWidth + 1) {
      if (box.matches(".chart-wrap") && box.getAttribute("role") !== "region") {
        box.scrollLeft = box.scrollWidth;  // a chart of periods opens at the latest one
      }
      const heading = box.closest("section, .card, main").querySelector("h2, h3, h1");
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", heading ? heading.textContent.trim() : document.title);
    } else if (box.getAttribute("role") === "region") {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  });
}

// A form that sends the person back to its own part of the page (/meetings/7#invitations) has its message
// said there, beside the form, rather than at the top of the page, off screen on a phone.
function showMessagesWhereTheFormIs() {
  const flashes = document.querySelector(".flashes");
  let id = "";
  try {
    id = decodeURIComponent(window.location.hash.slice(1));
  } catch (error) {  // a fragment that is not valid percent-encoding names nothing
    return;
  }
  const part = id ? document.getElementById(id) : null;
  if (!flashes || !part || part.contains(flashes)) return;
  // Inside a part of the page that holds blocks (a section, a form, a card); before anything else (a table
  // row, a list item), where a block would break its layout.
  if (part.matches("section, form, article, details, .card")) {
    const heading = part.querySelector("h2, h3");
    if (heading) heading.after(flashes); else part.prepend(flashes);
  } else if (part.matches("tr")) {
    // Just above the row it is about, in a row of its own: before the table, a long table would leave it
    // out of sight once the browser scrolled to the row.
    const row = document.createElement("tr");
    const cell = row.insertCell();
    cell.colSpan = part.cells.length || 1;
    cell.className = "flash-cell";
    cell.append(flashes);
    part.before(row);
  } else {
    (part.closest("ul, ol") || part).before(flashes);
  }
  // The browser scrolls to the part named, leaving what was just placed above it out of sight: the message
  // is what the person needs to read first.
  window.addEventListener("load", () => flashes.scrollIntoView({block: "start"}));
}

// A form sent back with a field at fault: that field, in view and ready to be corrected (the message under it
// can be far below where the page opens, on a phone).
function focusFirstFieldAtFault() {
  if (window.location.hash) return;
  const field = document.querySelector('main [aria-invalid="true"]');
  if (!field) return;
  field.focus({preventScroll: true});
  field.scrollIntoView({block: "center"});
}

// A button that copies a field's text (a feed's address) and says it did; where the clipboard is refused
// (an address without HTTPS), the text is selected for the person to copy.
function setUpCopyButtons() {
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      if (!field) return;
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = button.dataset.copied;
      } catch (error) {
        field.focus();
        field.select();
      }
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpMenu();
  showMessagesWhereTheFormIs();
  focusFirstFieldAtFault();
  setUpCopyButtons();
  markScrollingTables();
  window.addEventListener("resize", markScrollingTables);  // a handful of boxes: cheap enough to run each time
  document.querySelectorAll("form.series-form").forEach(setUpSeriesForm);
});
