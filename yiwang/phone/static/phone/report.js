// The report page (随手拍 and patrol): photos, the place (GPS, the photo, a tap on the map, an address) with its
// grid and community, the category (searchable, suggested from the description), open cases nearby offered as
// "the same problem", checks before sending, and sending through the queue (kept on the phone without signal).
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  var $ = function (id) { return document.getElementById(id); };
  var msg = $("yw-messages").dataset;
  var place = $("place-result");
  var status = $("form-status");
  var catalogue = JSON.parse($("yw-categories").textContent);
  var lat = $("lat"), lon = $("lon");
  var photos = [], after = [];
  var map = null, marker = null;
  var anonymous = form.dataset.anonymous === "1", patrol = form.dataset.patrol === "1";

  function debounce(fn, ms) { var t; return function () { clearTimeout(t); t = setTimeout(fn, ms); }; }
  function get(url) { return fetch(url, {credentials: "same-origin"}); }

  // --- errors next to the fields ------------------------------------------------------------------------
  var FIELD = {location: "address", photos: "photos", category: "cat-search", same_as: "dups"};
  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll(".error"), function (e) { e.hidden = true; e.textContent = ""; });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (e) { e.removeAttribute("aria-invalid"); });
  }
  function showErrors(errors) {
    var first = null;
    Object.keys(errors).forEach(function (key) {
      var box = $("err-" + key) || $("err-__all__");
      box.textContent = [].concat(errors[key]).join(" ");
      box.hidden = false;
      var field = $(FIELD[key] || key);
      if (field && /INPUT|TEXTAREA|SELECT/.test(field.tagName)) field.setAttribute("aria-invalid", "true");
      if (!first) first = (field && /INPUT|TEXTAREA|SELECT|BUTTON/.test(field.tagName)) ? field : box;
    });
    status.textContent = status.dataset.check;
    if (first) { if (!first.hasAttribute("tabindex") && !/INPUT|TEXTAREA|SELECT|BUTTON/.test(first.tagName)) first.tabIndex = -1; first.focus(); }
  }

  // --- photos and videos ---------------------------------------------------------------------------------
  // Files are sent as chosen, never re-encoded here. A video is previewed by its first frame (a muted <video>
  // that loads only its metadata), named by its file name; only a photo can carry the report's position.
  function isVideo(file) { return /^video\//.test(file.type) || (!file.type && /\.(mp4|mov)$/i.test(file.name || "")); }
  function showPhotos(list, box) {
    box.innerHTML = "";
    list.forEach(function (file, i) {
      var li = document.createElement("li");
      var preview;
      if (isVideo(file)) {
        preview = document.createElement("video");
        preview.muted = true; preview.playsInline = true; preview.preload = "metadata";
        preview.src = URL.createObjectURL(file) + "#t=0.1";
        preview.setAttribute("aria-label", file.name || String(i + 1));
      } else {
        preview = document.createElement("img");
        preview.src = URL.createObjectURL(file); preview.alt = file.name || String(i + 1);
      }
      var b = document.createElement("button");
      b.type = "button"; b.textContent = "×";
      b.setAttribute("aria-label", (isVideo(file) ? msg.removeVideo : msg.remove) + " " + (i + 1));
      b.addEventListener("click", function () { list.splice(i, 1); showPhotos(list, box); });
      li.appendChild(preview); li.appendChild(b); box.appendChild(li);
    });
    var anyPhoto = list.some(function (f) { return !isVideo(f); });
    if (list === photos && !lat.value && anyPhoto) place.textContent = place.dataset.fromPhoto;
  }
  function picker(input, list, box) {
    if (!input) return;
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (f) { list.push(f); });
      input.value = "";
      showPhotos(list, box);
    });
  }
  picker($("photos"), photos, $("photo-list"));
  picker($("album"), photos, $("photo-list"));
  picker($("after_photos"), after, $("after-list"));
  picker($("after_album"), after, $("after-list"));

  // --- the place ----------------------------------------------------------------------------------------
  function located(data) {
    if (!data.grid) { place.textContent = place.dataset.outside; return; }
    var parts = [place.dataset.grid + ": " + data.grid.name];
    if (data.community) parts.push(place.dataset.community + ": " + data.community.name);
    if (data.street) parts.push(place.dataset.street + ": " + data.street.name);
    place.textContent = parts.join(" · ");
  }
  function setPosition(la, lo) {
    lat.value = la.toFixed(6); lon.value = lo.toFixed(6);
    $("err-location").hidden = true;
    if (map) placeMarker();
    get(form.dataset.locateUrl + "?lat=" + lat.value + "&lon=" + lon.value)
      .then(function (r) { return r.json(); }).then(located).catch(function () {});
    get(form.dataset.categoriesUrl + "?lat=" + lat.value + "&lon=" + lon.value)
      .then(function (r) { return r.json(); }).then(function (data) {
        if (data.catalogue !== catalogue.catalogue) { catalogue = data; renderCategories(); }
      }).catch(function () {});
    duplicates();
  }
  $("locate-buttons").hidden = false;
  $("use-gps").addEventListener("click", function () {
    if (!navigator.geolocation) { place.textContent = place.dataset.denied; return; }
    place.textContent = place.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (p) { setPosition(p.coords.latitude, p.coords.longitude); },
      function () { place.textContent = place.dataset.denied; }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
  $("address").addEventListener("input", debounce(function () {
    var text = $("address").value.trim();
    if (lat.value || text.length < 2) return;
    get(form.dataset.placeUrl + "?address=" + encodeURIComponent(text)).then(function (r) { return r.json(); })
      .then(function (data) { if (data.region && !lat.value) place.textContent = place.dataset.fromAddress + ": " + data.region.names.join(" · "); })
      .catch(function () {});
  }, 600));

  // The map is loaded only when asked for: Leaflet is the heaviest thing on the page.
  function loadLeaflet(box) {
    if (window.L) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var css = document.createElement("link");
      css.rel = "stylesheet"; css.href = box.dataset.leafletCss; document.head.appendChild(css);
      var js = document.createElement("script");
      js.src = box.dataset.leafletJs; js.onload = resolve; js.onerror = reject; document.head.appendChild(js);
    });
  }
  function placeMarker() {
    var at = [parseFloat(lat.value), parseFloat(lon.value)];
    if (marker) marker.setLatLng(at); else marker = L.circleMarker(at, {radius: 9, color: "#b3261e", weight: 3}).addTo(map);
    map.panTo(at);
  }
  function openMap() {
    var box = $("map");
    box.hidden = false;
    $("open-map").setAttribute("aria-expanded", "true");
    loadLeaflet(box).then(function () {
      if (map) return;
      window.ywLeaflet(L);
      map = L.map(box, {zoomControl: true});
      if (box.dataset.tileUrl) L.tileLayer(box.dataset.tileUrl, {maxZoom: 19}).addTo(map);
      var outlines = L.layerGroup().addTo(map);
      var drawn = {};
      map.on("moveend", function () {
        if (map.getZoom() < 13) return;
        var b = map.getBounds();
        get(form.dataset.gridsUrl + "?bbox=" + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].join(","))
          .then(function (r) { return r.json(); }).then(function (data) {
            data.features.forEach(function (f) {
              if (drawn[f.properties.code]) return;
              drawn[f.properties.code] = true;
              L.geoJSON(f, {style: {color: "#0b57d0", weight: 1, fillOpacity: 0.05}})
                .bindTooltip(f.properties.name).addTo(outlines);
            });
          }).catch(function () {});
      });
      map.on("click", function (e) { setPosition(e.latlng.lat, e.latlng.lng); });
      if (lat.value) { map.setView([parseFloat(lat.value), parseFloat(lon.value)], 16); placeMarker(); return; }
      get(form.dataset.gridsUrl).then(function (r) { return r.json(); }).then(function (data) {
        var e = data.extent;
        if (e && e.w !== null) map.fitBounds([[e.s, e.w], [e.n, e.e]]); else map.setView([39.9, 116.4], 12);
        if (map.getZoom() < 13) map.setZoom(13);
      });
    });
  }
  $("open-map").addEventListener("click", function () {
    var box = $("map");
    if (!box.hidden) { box.hidden = true; this.setAttribute("aria-expanded", "false"); return; }
    openMap();
  });

  // --- the category -------------------------------------------------------------------------------------
  var list = $("cat-list"), search = $("cat-search"), chosen = $("category"), description = $("description");
  function bigrams(text) {
    var found = {};
    (text.toLowerCase().match(/[\u4e00-\u9fff]+|[a-z]{3,}/g) || []).forEach(function (w) {
      if (/^[a-z]/.test(w)) { found[w] = 1; return; }
      for (var i = 0; i + 1 < w.length; i++) found[w.slice(i, i + 2)] = 1;
    });
    return Object.keys(found);
  }
  function suggestions() {
    var words = bigrams(description.value);
    if (!words.length) return [];
    return catalogue.items.map(function (c) {
      // A word of the category's own name (in either language: a description is often typed in Chinese on
      // a page shown in English) counts twice a word of its group's name.
      var score = 0, names = (c.name + " " + (c.names || "")).toLowerCase(), all = (names + " " + c.words).toLowerCase();
      words.forEach(function (w) { if (names.indexOf(w) >= 0) score += 2; else if (all.indexOf(w) >= 0) score += 1; });
      return [score, c];
    }).filter(function (p) { return p[0] > 1; }).sort(function (a, b) { return b[0] - a[0]; })
      .slice(0, 4).map(function (p) { return p[1]; });
  }
  function option(c, suggested) {
    var div = document.createElement("div");
    div.className = "check";
    var input = document.createElement("input");
    input.type = "radio"; input.name = "cat-pick"; input.id = "cat-" + c.code + (suggested ? "-s" : ""); input.value = c.code;
    input.checked = chosen.value === c.code;
    input.addEventListener("change", function () { choose(c); });
    var label = document.createElement("label");
    label.htmlFor = input.id;
    label.textContent = c.name + " ";
    var hint = document.createElement("span");
    hint.className = "hint"; hint.textContent = "(" + c.group + (suggested ? " · " + list.dataset.suggested : "") + ")";
    label.appendChild(hint);
    div.appendChild(input); div.appendChild(label);
    return div;
  }
  function renderCategories() {
    var q = search.value.trim().toLowerCase();
    list.innerHTML = "";
    var shown = {};
    if (!q) suggestions().forEach(function (c) { shown[c.code] = 1; list.appendChild(option(c, true)); });
    var matches = catalogue.items.filter(function (c) {
      return !shown[c.code] && (!q || (c.code + " " + c.name + " " + c.group + " " + c.words).toLowerCase().indexOf(q) >= 0);
    });
    (q ? matches.slice(0, 12) : matches.filter(function (c) { return c.code === chosen.value; })).forEach(function (c) { list.appendChild(option(c, false)); });
    if (q && !matches.length) { var p = document.createElement("p"); p.className = "hint"; p.textContent = list.dataset.none; list.appendChild(p); }
  }
  // The chosen category's extra questions (answer_<code> fields; the same as phone/_questions.html renders).
  var questions = $("cat-questions"), current = null;
  function field(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }
  function labelled(text, q, forId, tag) {
    var label = document.createElement(tag);
    if (forId) label.htmlFor = forId;
    label.textContent = text;
    if (!q.required) {
      var hint = document.createElement("span");
      hint.className = "hint"; hint.textContent = " (" + questions.dataset.optional + ")";
      label.appendChild(hint);
    }
    return label;
  }
  function renderQuestions(c) {
    if (questions.dataset.category === c.code) return;  // rendered by the server after a refusal, as answered
    questions.dataset.category = c.code;
    questions.innerHTML = "";
    (c.questions || []).forEach(function (q) {
      var div = document.createElement("div"), id = "answer-" + q.code, name = "answer_" + q.code;
      div.className = "question";
      if (q.datatype === "singlevaluelist" || q.datatype === "multivaluelist") {
        var set = document.createElement("fieldset");
        set.appendChild(labelled(q.label, q, null, "legend"));
        q.values.forEach(function (v, i) {
          var row = document.createElement("div");
          row.className = "check";
          row.appendChild(field("input", {type: q.datatype === "multivaluelist" ? "checkbox" : "radio", id: id + "-" + (i + 1), name: name, value: v.key, "aria-describedby": "err-answers"}));
          var label = document.createElement("label");
          label.htmlFor = id + "-" + (i + 1); label.textContent = v.name;
          row.appendChild(label); set.appendChild(row);
        });
        div.appendChild(set);
      } else {
        div.appendChild(labelled(q.label, q, id, "label"));
        var attrs = {id: id, name: name, "aria-describedby": "err-answers"};
        if (q.datatype === "number") { attrs.type = "number"; attrs.inputmode = "decimal"; attrs.step = "any"; }
        else if (q.datatype === "datetime") attrs.type = "datetime-local";
        else if (q.datatype === "text") attrs.maxlength = "2000";
        else attrs.maxlength = "255";
        div.appendChild(field(q.datatype === "text" ? "textarea" : "input", attrs));
      }
      questions.appendChild(div);
    });
  }
  function unanswered() {
    var missing = (current && current.questions || []).filter(function (q) {
      return q.required && !Array.prototype.some.call(form.querySelectorAll("[name='answer_" + q.code + "']"), function (el) {
        return (el.type === "checkbox" || el.type === "radio") ? el.checked : el.value.trim();
      });
    });
    return missing.length ? msg.answer.replace("%(q)s", missing[0].label) : "";
  }
  function choose(c) {
    current = c;
    renderQuestions(c);
    chosen.value = c.code;
    $("cat-chosen").textContent = $("cat-chosen").dataset.label + " " + c.group + " · " + c.name;
    $("err-category").hidden = true;
    duplicates();
  }
  search.addEventListener("input", debounce(renderCategories, 200));
  description.addEventListener("input", debounce(function () { if (!search.value) renderCategories(); }, 500));
  renderCategories();
  if (chosen.value) catalogue.items.forEach(function (c) { if (c.code === chosen.value) choose(c); });

  // --- open cases nearby --------------------------------------------------------------------------------
  function duplicates() {
    var box = $("dups");
    if (!chosen.value || !lat.value) { box.hidden = true; box.innerHTML = ""; return; }
    var picked = form.querySelector("input[name=same_as]:checked");
    get(form.dataset.duplicatesUrl + "?category=" + encodeURIComponent(chosen.value) + "&lat=" + lat.value + "&lon=" + lon.value +
        "&same_as=" + (picked ? picked.value : ""))
      .then(function (r) { return r.text(); }).then(function (html) {
        box.innerHTML = html; box.hidden = !html.trim();
      }).catch(function () {});
  }
  if (lat.value) setPosition(parseFloat(lat.value), parseFloat(lon.value));

  // --- checks and sending -------------------------------------------------------------------------------
  function check() {
    var errors = {};
    if (!description.value.trim()) errors.description = msg.description;
    // Photos kept from a refused sending (shown above the new ones, sent by their tokens) count too.
    var keptOf = function (field) {
      return Array.prototype.filter.call(form.querySelectorAll("input[name=kept_" + field + "]"), function (h) {
        var box = $("kept-remove-" + h.value); return !(box && box.checked);
      }).length;
    };
    var kept = keptOf("photos");
    if (!lat.value && !$("address").value.trim() && !photos.length && !kept) errors.location = msg.location;
    if (photos.length + kept > Number(msg.maxFiles)) errors.photos = msg.photosCount;
    // What the server takes: photos, and MP4 or MOV (an iPhone's QuickTime) videos; any other video is refused
    // there, so here first.
    var VIDEO_TYPES = ["video/mp4", "video/quicktime"];
    var refused = function (f) { return f.type && f.type.indexOf("image/") !== 0 && VIDEO_TYPES.indexOf(f.type) < 0; };
    if (photos.some(refused)) errors.photos = msg.photosType;
    if (after.some(refused)) errors.after_photos = msg.photosType;
    if (patrol && !chosen.value) errors.category = msg.category;
    if (unanswered()) errors.answers = unanswered();
    if ($("fixed") && $("fixed").checked && !$("fixed_result").value.trim()) errors.fixed_result = msg.fixed;
    // The server refuses a fix without a photo of the result anyway; saying so here saves a round trip.
    if ($("fixed") && $("fixed").checked && !after.length && !keptOf("after_photos")) errors.after_photos = msg.after;
    if (anonymous && !/^1[3-9][0-9]{9}$/.test($("contact_phone").value.replace(/[\s\-]/g, "").replace(/^\+?86/, ""))) errors.contact_phone = msg.contact;
    return errors;
  }
  function item() {
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.name === "csrfmiddlewaretoken" || el.name === "cat-pick" || el.disabled) return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      fields.push([el.name, el.value]);
    });
    var named = function (field) {
      return function (f) { return [field, f, f.name || (isVideo(f) ? "video.mp4" : "photo.jpg")]; };
    };
    var files = photos.map(named("photos")).concat(after.map(named("after_photos")));
    return {key: YW_QUEUE.uuid(), url: form.action, fields: fields, files: files, created: Date.now(),
            label: description.value.trim().slice(0, 30)};
  }
  function reset() {
    form.reset(); photos.length = 0; after.length = 0;
    showPhotos(photos, $("photo-list")); if ($("after-list")) showPhotos(after, $("after-list"));
    lat.value = lon.value = chosen.value = ""; place.textContent = ""; $("cat-chosen").textContent = "";
    $("dups").hidden = true; current = null; questions.innerHTML = ""; questions.dataset.category = ""; renderCategories();
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    var errors = check();
    if (Object.keys(errors).length) { showErrors(errors); return; }
    var button = $("send");
    button.disabled = true;
    status.textContent = status.dataset.sending;
    var report = item();
    YW_QUEUE.add(report).then(function (saved) {
      return YW_QUEUE.send(report).then(function (r) {
        if (r.outcome === "sent") {
          return YW_QUEUE.del(report.key).then(function () { window.location.assign(r.body.redirect); });
        }
        button.disabled = false;
        if (r.outcome === "refused") {
          YW_QUEUE.del(report.key);
          showErrors((r.body && r.body.errors) || {__all__: [String(r.status)]});
          return;
        }
        if (!saved) { status.textContent = status.dataset.unsaved; return; }
        status.textContent = status.dataset.queued;
        reset();
        YW_QUEUE.render();
      });
    });
  });
  if ($("fixed")) {
    var toggle = function () { $("fixed-part").hidden = !$("fixed").checked; };
    $("fixed").addEventListener("change", toggle); toggle();
  }
  // Every handler is in place: the page benchmark (bench/pages.py) times the page's readiness from this mark.
  form.dataset.ready = "1";
  if (window.performance && performance.mark) performance.mark("yw-report-ready");
})();
