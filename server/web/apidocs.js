// The API reference's "try it" forms (server/apidocs.py renders the page): each form sends its
// operation with fetch and shows the status and the body. No framework, nothing fetched elsewhere.
"use strict";
for (const pre of document.querySelectorAll("pre.curl")) {
  pre.textContent = pre.textContent.replace("http://127.0.0.1:8000", location.origin);
}
for (const form of document.querySelectorAll("form.try")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = form.querySelector("output");
    let path = form.dataset.path;
    const query = new URLSearchParams();
    for (const el of form.querySelectorAll("[data-in]")) {
      if (el.value === "") continue;
      if (el.dataset.in === "path") path = path.replace(`{${el.name}}`, encodeURIComponent(el.value));
      else query.append(el.name, el.value);
    }
    const init = { method: form.dataset.method, headers: { accept: "application/json" } };
    const body = form.querySelector("textarea[name=__body]");
    if (body) {
      init.body = body.value;
      init.headers["content-type"] = "application/json";
    }
    const url = path + (query.toString() ? `?${query}` : "");
    out.textContent = `${init.method} ${url} …`;
    try {
      const resp = await fetch(url, init);
      const text = await resp.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON: as sent */ }
      out.innerHTML = "";
      const status = document.createElement("p");
      status.className = resp.ok ? "status" : "status error";
      status.textContent = `${init.method} ${url} → ${resp.status} ${resp.statusText}`;
      const pre = document.createElement("pre");
      pre.textContent = shown;
      out.append(status, pre);
    } catch (err) {
      out.textContent = `request failed: ${err}`;
    }
  });
}
