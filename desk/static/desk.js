// Small conveniences; every page works without them (the Content-Security-Policy allows this file only).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Filters apply as soon as a choice is made.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  // A form that signs says so and cannot be sent twice.
  for (const form of document.querySelectorAll("form[data-busy]")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll("button[type=submit]")) {
        button.disabled = true;
        button.textContent = form.dataset.busy;
      }
    });
  }
  // A file larger than the desk accepts is not sent at all (the desk would refuse it: 413).
  for (const input of document.querySelectorAll("input[type=file][data-max-bytes]")) {
    input.form.addEventListener("submit", (event) => {
      const limit = Number(input.dataset.maxBytes);
      for (const file of input.files) {
        if (file.size > limit) {
          event.preventDefault();
          window.alert(input.dataset.tooLarge);
          return;
        }
      }
    });
  }
  // The verification's progress, without waiting for the page's own refresh.
  const bar = document.getElementById("progress");
  if (bar && bar.dataset.status) {
    const poll = () => fetch(bar.dataset.status, {credentials: "same-origin"})
      .then((r) => r.json())
      .then((s) => {
        bar.value = s.percent;
        const shown = document.getElementById("percent");
        if (shown) shown.textContent = String(s.percent);
        if (s.state === "done" || s.state === "failed") window.location.reload();
        else setTimeout(poll, 400);
      })
      .catch(() => undefined);
    setTimeout(poll, 400);
  }
});
