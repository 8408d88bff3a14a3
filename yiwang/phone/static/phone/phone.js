// Phone pages, on every page: the queue of reports made without signal (kept in IndexedDB with their photos,
// sent when the signal returns, each exactly once thanks to its Idempotency-Key), and small form helpers.
(function () {
  "use strict";
  var DB = "yiwang-phone", STORE = "reports";
  var banner = document.getElementById("yw-queue");
  var inflight = {};
  var busy = false;

  function uuid() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function open() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, {keyPath: "key"}); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var request = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }

  function all() { return run("readonly", function (s) { return s.getAll(); }).catch(function () { return []; }); }
  function put(item) { return run("readwrite", function (s) { return s.put(item); }); }
  function del(key) { return run("readwrite", function (s) { return s.delete(key); }).catch(function () {}); }

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  // One attempt: "sent" (body), "refused" (4xx: body.errors) or "offline" (no answer, or a server error).
  function send(item) {
    if (inflight[item.key]) return inflight[item.key];
    var data = new FormData();
    item.fields.forEach(function (f) { data.append(f[0], f[1]); });
    item.files.forEach(function (f) { data.append(f[0], f[1], f[2]); });
    var attempt = fetch(item.url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"Idempotency-Key": item.key, "X-CSRFToken": csrf(), "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) return {outcome: "sent", body: body};
        if (response.status >= 400 && response.status < 500) return {outcome: "refused", body: body, status: response.status};
        return {outcome: "offline", body: body};
      });
    }, function () { return {outcome: "offline"}; });
    inflight[item.key] = attempt;
    attempt.then(function () { delete inflight[item.key]; });
    return attempt;
  }

  function say(text, html) {
    if (!banner) return;
    banner.hidden = !text && !html;
    if (html) { banner.innerHTML = ""; banner.appendChild(html); } else { banner.textContent = text || ""; }
  }

  function render(note) {
    return all().then(function (items) {
      var waiting = items.filter(function (i) { return i.state !== "refused"; });
      var refused = items.filter(function (i) { return i.state === "refused"; });
      var box = document.createElement("div");
      if (note) { var p0 = document.createElement("p"); p0.innerHTML = note; box.appendChild(p0); }
      if (waiting.length) {
        var p = document.createElement("p");
        p.className = "queue-waiting";
        p.textContent = waiting.length === 1 ? banner.dataset.waitingOne : banner.dataset.waitingMany.replace("%(n)s", waiting.length);
        if (!navigator.onLine) p.textContent += " " + banner.dataset.offline;
        box.appendChild(p);
      }
      refused.forEach(function (item) {
        var p = document.createElement("p");
        p.className = "queue-refused";
        var messages = [];
        Object.keys(item.errors || {}).forEach(function (k) { messages = messages.concat(item.errors[k]); });
        p.textContent = banner.dataset.refused + " “" + item.label + "” — " + messages.join(" ") + " ";
        var b = document.createElement("button");
        b.type = "button"; b.className = "btn-text"; b.textContent = banner.dataset.discard;
        b.addEventListener("click", function () { del(item.key).then(function () { render(); }); });
        p.appendChild(b);
        box.appendChild(p);
      });
      say("", box.childNodes.length ? box : null);
      return waiting.length;
    });
  }

  function flush() {
    if (busy) return Promise.resolve();
    busy = true;
    var notes = [];
    return all().then(function (items) {
      var chain = Promise.resolve(true);
      items.filter(function (i) { return i.state !== "refused"; }).forEach(function (item) {
        chain = chain.then(function (go) {
          if (!go) return false;
          return send(item).then(function (r) {
            if (r.outcome === "sent") {
              return del(item.key).then(function () {
                var a = '<a href="' + (r.body.redirect || "#") + '">' + (r.body.number || "") + "</a>";
                notes.push(banner.dataset.sent.replace("%(number)s", a));
                document.dispatchEvent(new CustomEvent("yw:sent", {detail: {item: item, body: r.body}}));
                return true;
              });
            }
            if (r.outcome === "refused") {
              item.state = "refused"; item.errors = (r.body && r.body.errors) || {};
              return put(item).then(function () { return true; });
            }
            return false;  // no signal: try again later
          });
        });
      });
      return chain;
    }).then(function () { busy = false; return render(notes.join("<br>")); },
            function () { busy = false; });
  }

  window.YW_QUEUE = {
    uuid: uuid, send: send, flush: flush, render: render, del: del,
    add: function (item) { item.state = "waiting"; return put(item).then(function () { return true; }, function () { return false; }); }
  };
  window.addEventListener("online", flush);
  setInterval(function () { if (navigator.onLine) flush(); }, 20000);
  flush();

  // Forms: the first refused field gets the focus; a required photo is checked before sending, and the names
  // of chosen files are read out. The file inputs of one name (the camera's, and the album's that also takes a
  // video) are one field: their files are read out together, and a file in either fills a required field.
  var firstError = document.querySelector("[aria-invalid='true'], .error[role='alert']:not([hidden])");
  if (firstError) { if (!firstError.hasAttribute("tabindex") && !/INPUT|TEXTAREA|SELECT/.test(firstError.tagName)) firstError.tabIndex = -1; firstError.focus(); }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-plain]"), function (form) {
    var fields = {};
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
      (fields[input.name] = fields[input.name] || []).push(input);
    });
    Object.keys(fields).forEach(function (name) {
      var inputs = fields[name], last = inputs[inputs.length - 1];
      var chosen = function () {
        return inputs.reduce(function (all, input) { return all.concat(Array.prototype.slice.call(input.files)); }, []);
      };
      var out = document.createElement("p");
      out.className = "hint"; out.setAttribute("aria-live", "polite");
      (last.closest(".row") || last).insertAdjacentElement("afterend", out);
      inputs.forEach(function (input) {
        input.addEventListener("change", function () {
          out.className = "hint";
          out.textContent = chosen().map(function (f) { return f.name; }).join(", ");
        });
      });
      form.addEventListener("submit", function (event) {
        if (inputs.some(function (input) { return input.required; }) && !chosen().length) {
          event.preventDefault();
          out.className = "error";
          out.textContent = form.dataset.photoRequired;
          inputs[0].setAttribute("aria-invalid", "true");
          inputs[0].focus();
        }
      });
    });
  });
})();
