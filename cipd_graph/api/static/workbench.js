// The curriculum designer's workbench: pick a programme and module, browse the model's
// elements, add, change or remove a mapping, watch the matrix and its gaps follow, undo.
// Everything it loads comes from this server; the write token stays in this tab
// (sessionStorage) and is sent only as the Authorization header of writes.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const ROOT = data.root || "";
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const KEY = "cipd-workbench";

  const state = {
    session: null, // {token, mappedBy, person}
    institutions: [],
    kinds: [],
    frameworks: [],
    elements: new Map(), // iri -> {iri, label, notation, curie, definition, kindLabel, sources}
    programme: null,
    module: null,
    element: null,
    matrix: null,
    evidence: null,
    history: [],
    matrixVersion: 0,
  };

  // ------------------------------------------------------------------ helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(typeof child === "string" ? document.createTextNode(child) : child);
      }
    }
    return node;
  }

  function setState(name) {
    body.dataset.state = name;
  }

  class HttpError extends Error {
    constructor(status, payload) {
      super((payload && payload.detail) || `HTTP ${status}`);
      this.status = status;
      this.payload = payload || {};
    }
  }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
    if (opts.write) {
      if (!state.session) throw new HttpError(401, { detail: "sign in first" });
      opts.headers.Authorization = "Bearer " + state.session.token;
      delete opts.write;
    }
    if (opts.json !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    const response = await fetch(ROOT + path, opts);
    const text = await response.text();
    let payload = null;
    try {
      payload = text ? JSON.parse(text) : null;
    } catch (e) {
      payload = { detail: text };
    }
    if (!response.ok) throw new HttpError(response.status, payload);
    return payload;
  }

  const enc = encodeURIComponent;

  function shortPerson(iri) {
    if (!iri) return "nobody named";
    if (state.session && iri === state.session.person) return "you";
    return "designer " + iri.split("/").pop().slice(0, 6);
  }

  function elementName(iri) {
    const e = state.elements.get(iri);
    if (e) return e.label;
    return iri.split(/[#/]/).pop();
  }

  function when(at) {
    const d = new Date(at);
    return isNaN(d) ? at : d.toLocaleString();
  }

  // ------------------------------------------------------------------ session
  function loadSession() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
      if (saved && saved.token && saved.mappedBy && saved.person) state.session = saved;
    } catch (e) {
      state.session = null;
    }
  }

  function showSession() {
    const signed = Boolean(state.session);
    $("signin-section").hidden = signed;
    $("who").hidden = !signed;
    $("who-id").textContent = signed ? state.session.mappedBy : "";
    for (const id of ["save", "remove", "undo", "import-button"]) $(id).disabled = !signed;
    $("form-status").textContent = signed ? "" : "Sign in to edit.";
    renderForm();
    renderHistory();
  }

  async function signIn(event) {
    event.preventDefault();
    $("error-token").textContent = "";
    $("error-person").textContent = "";
    const token = $("token").value.trim();
    const mappedBy = $("person").value.trim();
    try {
      const answer = await fetch(ROOT + "/workbench/session", {
        method: "POST",
        headers: {
          Authorization: "Bearer " + token,
          "Content-Type": "application/json",
          Accept: "application/json",
        },
        body: JSON.stringify({ mapped_by: mappedBy }),
      });
      const payload = await answer.json().catch(() => ({}));
      if (!answer.ok) {
        if (answer.status === 422) {
          // an RFC 9457 problem: one entry of `errors` per field at fault
          const problem = (payload.errors || [])[0];
          $("error-person").textContent = problem ? problem.detail : payload.detail;
        } else {
          $("error-token").textContent = payload.detail || `HTTP ${answer.status}`;
        }
        return;
      }
      state.session = { token: token, mappedBy: payload.mapped_by, person: payload.person };
      sessionStorage.setItem(KEY, JSON.stringify(state.session));
      $("token").value = "";
      showSession();
    } catch (e) {
      $("error-token").textContent = String(e.message || e);
    }
  }

  function signOut() {
    sessionStorage.removeItem(KEY);
    state.session = null;
    showSession();
  }

  // ------------------------------------------------------------------ pickers
  function fillSelect(select, items, value) {
    select.replaceChildren(
      ...items.map((item) => el("option", { value: item.value, text: item.text }))
    );
    if (items.some((i) => i.value === value)) select.value = value;
    select.disabled = items.length === 0;
  }

  function currentInstitution() {
    return state.institutions.find((i) => i.id === $("institution").value) || null;
  }

  function fillInstitutions(wanted) {
    fillSelect(
      $("institution"),
      state.institutions.map((i) => ({ value: i.id, text: i.label || i.id })),
      wanted
    );
  }

  function fillProgrammes(wanted) {
    const inst = currentInstitution();
    const programmes = inst ? inst.programmes : [];
    fillSelect(
      $("programme"),
      programmes.map((p) => ({ value: p.id, text: p.title || p.id })),
      wanted
    );
  }

  function fillModules(wanted) {
    const modules = state.matrix ? state.matrix.modules : [];
    fillSelect(
      $("module"),
      modules.map((m) => ({ value: m.id, text: (m.code ? m.code + " " : "") + (m.title || m.id) })),
      wanted
    );
    state.module = $("module").value || null;
  }

  function writeHash() {
    const parts = [];
    if (state.programme) parts.push("programme=" + enc(state.programme));
    if (state.module) parts.push("module=" + enc(state.module));
    if (state.element) parts.push("element=" + enc(state.element));
    history.replaceState(null, "", "#" + parts.join("&"));
  }

  function readHash() {
    const out = {};
    for (const part of location.hash.replace(/^#/, "").split("&")) {
      const [k, v] = part.split("=");
      if (k && v) out[k] = decodeURIComponent(v);
    }
    return out;
  }

  async function chooseProgramme(programmeId, moduleId) {
    state.programme = programmeId || null;
    $("export-case").href = programmeId
      ? `${ROOT}/export/case?programme=${enc(programmeId)}`
      : "#";
    $("export-case").setAttribute("download", programmeId ? `${programmeId}.case.json` : "");
    if (!programmeId) {
      state.matrix = null;
      state.evidence = null;
      fillModules(null);
      renderAll();
      return;
    }
    setState("busy");
    const [matrix, evidence] = await Promise.all([
      api(`/workbench/programmes/${enc(programmeId)}/matrix`),
      api(`/workbench/programmes/${enc(programmeId)}/evidence`),
    ]);
    state.matrix = matrix;
    state.matrixVersion += 1; // a new answer from the server, not a redraw
    state.evidence = evidence;
    fillModules(moduleId || state.module);
    await chooseModule($("module").value);
  }

  async function chooseModule(moduleId) {
    state.module = moduleId || null;
    state.history = [];
    if (state.module) {
      state.history = await api(`/modules/${enc(state.module)}/mappings/history?limit=20`);
    }
    renderAll();
    setState("ready");
  }

  // ------------------------------------------------------------------ matrix
  function cellsByKey() {
    const cells = new Map();
    for (const c of state.matrix ? state.matrix.cells : []) cells.set(c.module + " " + c.element, c);
    return cells;
  }

  function renderMatrix() {
    const table = $("matrix");
    const head = table.tHead;
    const tbody = table.tBodies[0];
    head.replaceChildren();
    tbody.replaceChildren();
    const matrix = state.matrix;
    if (!matrix) {
      $("coverage").textContent = "Pick a programme.";
      return;
    }
    const modules = matrix.modules;
    const cells = cellsByKey();
    const gaps = new Set(matrix.gaps);
    const evidence = state.evidence ? state.evidence.evidence : {};
    const filter = $("filter").value.trim().toLowerCase();
    const gapsOnly = $("gaps-only").checked;

    const headRow = el("tr", {}, el("th", { class: "element-col", scope: "col", text: "Element" }));
    for (const m of modules) {
      headRow.append(
        el(
          "th",
          {
            scope: "col",
            class: "module-col" + (m.id === state.module ? " selected" : ""),
            title: m.title || m.id,
            "data-module": m.id,
          },
          el("span", { class: "code", text: m.code || m.id }),
          el("span", { class: "title", text: m.title || "" })
        )
      );
    }
    headRow.append(el("th", { scope: "col", class: "partners-col", text: "Partners" }));
    head.append(headRow);

    const columns = modules.length + 2;
    const frameworkCells = new Set(
      matrix.cells.map((c) => c.element).filter((e) => !state.elements.has(e) || state.elements.get(e).framework)
    );
    const groups = state.kinds.map((k) => ({ label: k.label, elements: k.elements.map((e) => e.iri) }));
    if (frameworkCells.size) {
      groups.push({ label: "Imported framework items", elements: [...frameworkCells] });
    }
    let shown = 0;
    for (const group of groups) {
      const rows = [];
      for (const iri of group.elements) {
        const element = state.elements.get(iri) || { iri: iri, label: elementName(iri), definition: "" };
        const isGap = gaps.has(iri);
        if (gapsOnly && !isGap) continue;
        if (filter) {
          const hay = [element.label, element.notation || "", element.curie || "", element.definition || ""]
            .join(" ")
            .toLowerCase();
          if (!hay.includes(filter)) continue;
        }
        const row = el("tr", {
          class: (isGap ? "gap" : "") + (iri === state.element ? " selected" : ""),
          "data-element": iri,
        });
        const name = el(
          "button",
          { type: "button", class: "element-name", title: element.definition || "" },
          element.notation ? el("span", { class: "notation", text: element.notation }) : null,
          element.label
        );
        name.addEventListener("click", () => selectElement(iri));
        const first = el("th", { scope: "row", class: "element-col" }, name);
        if (isGap) first.append(el("span", { class: "gap-badge", text: "gap" }));
        row.append(first);
        for (const m of modules) {
          const cell = cells.get(m.id + " " + iri);
          const td = el("td", {
            class: "cell-col" + (m.id === state.module ? " selected" : ""),
            "data-module": m.id,
          });
          const button = el("button", {
            type: "button",
            class: "cell " + (cell ? cell.strength : "none"),
            title: cell
              ? `${m.code || m.id} → ${element.label}: ${cell.strength}. ${cell.justification || ""}`
              : `${m.code || m.id} → ${element.label}: not mapped`,
            text: cell ? cell.strength : "·",
            "data-strength": cell ? cell.strength : "",
          });
          button.addEventListener("click", () => selectCell(m.id, iri));
          td.append(button);
          row.append(td);
        }
        const links = evidence[iri] || [];
        row.append(
          el("td", { class: "partners-col", title: links.length ? "partner projects that evidence it" : "" },
            links.length ? String(links.length) : "")
        );
        rows.push(row);
      }
      if (!rows.length) continue;
      tbody.append(
        el("tr", { class: "group" }, el("th", { colSpan: columns, scope: "rowgroup", text: group.label }))
      );
      tbody.append(...rows);
      shown += rows.length;
    }
    if (!shown) {
      tbody.append(el("tr", {}, el("td", { colSpan: columns, class: "note", text: "No element matches." })));
    }
    const mapped = matrix.elements - matrix.gaps.length;
    const overlaps = Object.keys(matrix.overlaps).length;
    $("coverage").replaceChildren(
      el("strong", { text: `${mapped} of ${matrix.elements}` }),
      ` model elements are mapped by the ${modules.length} modules of ${matrix.programme.label || matrix.programme.id}; `,
      el("strong", { id: "gap-count", text: String(matrix.gaps.length) }),
      ` gaps, ${overlaps} overlap${overlaps === 1 ? "" : "s"}.`
    );
    table.dataset.version = String(state.matrixVersion);
    table.dataset.gaps = String(matrix.gaps.length);
  }

  // ------------------------------------------------------------------ editor
  function currentCell() {
    if (!state.module || !state.element) return null;
    return cellsByKey().get(state.module + " " + state.element) || null;
  }

  function clearErrors() {
    for (const id of ["error-strength", "error-justification", "error-element", "error-mapped_by", "error-undo"]) {
      $(id).textContent = "";
    }
    for (const id of ["justification", "strength-field"]) $(id).classList.remove("invalid");
  }

  function renderElement() {
    const iri = state.element;
    const element = iri ? state.elements.get(iri) : null;
    $("element-title").textContent = element ? element.label : iri ? elementName(iri) : "Pick an element";
    $("element-kind").textContent = element
      ? [element.kindLabel, element.notation, element.curie].filter(Boolean).join(" · ")
      : "Click an element or a cell of the matrix.";
    $("element-definition").textContent = element ? element.definition : "";
    const sources = element ? element.sources || [] : [];
    $("element-sources").replaceChildren(
      ...sources.map((s) => el("li", { title: s.citation || "" }, s.label || s.curie))
    );
    $("element-sources-box").hidden = sources.length === 0;

    const list = $("element-evidence");
    list.replaceChildren();
    const links = iri && state.evidence ? state.evidence.evidence[iri] || [] : [];
    const projects = new Map((state.evidence ? state.evidence.projects : []).map((p) => [p.iri, p]));
    if (!iri) return;
    if (!links.length) {
      const partners = state.evidence ? state.evidence.partners.length : 0;
      list.append(
        el("li", {
          class: "note",
          text: partners
            ? "No project of a partner provider evidences it."
            : "The programme's institution has no partner provider in a partnership.",
        })
      );
    }
    const linked = (link) => ((projects.get(link.project) || {}).linked_modules || []).length > 0;
    const ordered = links.filter(linked).concat(links.filter((l) => !linked(l)));
    for (const link of ordered) {
      const p = projects.get(link.project) || { label: link.project, provider: {}, linked_modules: [] };
      const item = el(
        "li",
        {},
        el("strong", { text: p.label || p.id || link.project }),
        ` (${p.provider.label || p.provider.id || "partner"}): ${link.how.join(", ")}`
      );
      if (p.linked_modules && p.linked_modules.length) {
        item.append(el("span", { class: "linked", text: ` · linked to ${p.linked_modules.join(", ")}` }));
      }
      list.append(item);
    }
  }

  function renderForm() {
    const cell = currentCell();
    const module = state.matrix ? state.matrix.modules.find((m) => m.id === state.module) : null;
    const ready = Boolean(state.element && module);
    $("mapping-title").textContent = module
      ? `${module.code || module.id} ${module.title || ""}`.trim()
      : "Mapping";
    $("mapping-current").textContent = !ready
      ? "Pick a module and an element."
      : cell
      ? `Mapped ${cell.strength} by ${shortPerson(cell.mapped_by)}.`
      : "Not mapped yet.";
    for (const input of document.querySelectorAll("input[name=strength]")) {
      input.checked = cell ? input.value === cell.strength : false;
      input.disabled = !ready || !state.session;
    }
    $("justification").value = cell ? cell.justification || "" : "";
    $("justification").disabled = !ready || !state.session;
    $("save").textContent = cell ? "Save change" : "Add mapping";
    $("save").disabled = !ready || !state.session;
    $("remove").hidden = !cell;
    $("remove").disabled = !cell || !state.session;
  }

  function renderHistory() {
    const module = state.matrix ? state.matrix.modules.find((m) => m.id === state.module) : null;
    $("history-module").textContent = module ? module.code || module.id : "the module";
    const list = $("history");
    list.replaceChildren();
    for (const edit of state.history) {
      const item = el(
        "li",
        { value: edit.number, class: edit.undone_by ? "undone" : "", "data-action": edit.action },
        el("span", { class: "summary", text: edit.summary }),
        el("span", { class: "meta", text: ` — ${shortPerson(edit.by)}, ${when(edit.at)}` })
      );
      if (edit.undone_by) item.append(el("span", { class: "meta", text: ` (undone by edit ${edit.undone_by})` }));
      list.append(item);
    }
    if (!state.history.length) {
      list.append(el("li", { class: "note", text: "No edit made here yet." }));
    }
    const undoable = state.history.some((e) => e.action !== "undo" && !e.undone_by);
    $("undo").disabled = !state.session || !undoable;
  }

  function renderAll() {
    renderMatrix();
    renderElement();
    renderForm();
    renderHistory();
    writeHash();
  }

  const narrow = window.matchMedia("(max-width: 1100px)");

  function selectElement(iri) {
    state.element = iri;
    clearErrors();
    $("form-status").textContent = "";
    renderAll();
    if (narrow.matches) $("editor-section").scrollIntoView({ block: "start" });
  }

  function backToMatrix(event) {
    event.preventDefault();
    const row = state.element
      ? document.querySelector(`tr[data-element="${CSS.escape(state.element)}"]`)
      : null;
    (row || $("matrix-section")).scrollIntoView({ block: "center" });
  }

  function selectCell(moduleId, iri) {
    if (moduleId !== state.module) {
      $("module").value = moduleId;
      state.element = iri;
      clearErrors();
      chooseModule(moduleId).catch(failed);
      return;
    }
    selectElement(iri);
  }

  // ------------------------------------------------------------------ writes
  function showProblems(error) {
    const problems = (error.payload && error.payload.errors) || [];
    if (!problems.length) {
      $("form-status").textContent = error.message;
      return;
    }
    for (const p of problems) {
      const field = String(p.where || "").split(".").pop();
      const target = $("error-" + field) || $("error-element");
      target.textContent = p.detail;
      if (field === "justification") $("justification").classList.add("invalid");
      if (field === "strength") $("strength-field").classList.add("invalid");
    }
    $("form-status").textContent = "Nothing was written.";
  }

  async function refreshAfterWrite(started, message) {
    const [matrix, history] = await Promise.all([
      api(`/workbench/programmes/${enc(state.programme)}/matrix`),
      api(`/modules/${enc(state.module)}/mappings/history?limit=20`),
    ]);
    state.matrix = matrix;
    state.matrixVersion += 1;
    state.history = history;
    renderAll();
    const ms = Math.round(performance.now() - started);
    body.dataset.lastEditMs = String(ms);
    $("form-status").textContent = `${message} (${ms} ms, shown in the matrix).`;
    setState("ready");
  }

  async function write(run, message) {
    clearErrors();
    setState("busy");
    const started = performance.now();
    try {
      await run();
    } catch (error) {
      if (error.status === 401 || error.status === 403) {
        $("form-status").textContent = error.message;
        signOut();
      } else if (error.status === 422) {
        showProblems(error);
      } else {
        $("form-status").textContent = error.message;
        $("error-undo").textContent = message === "Undone" ? error.message : "";
      }
      setState("refused");
      return;
    }
    await refreshAfterWrite(started, message);
  }

  function save(event) {
    event.preventDefault();
    if (!state.module || !state.element) return;
    const cell = currentCell();
    const picked = document.querySelector("input[name=strength]:checked");
    const strength = picked ? picked.value : null;
    const justification = $("justification").value;
    const element = state.element;
    const base = `/modules/${enc(state.module)}/mappings`;
    if (cell) {
      const change = { mapped_by: state.session.mappedBy };
      if (strength && strength !== cell.strength) change.strength = strength;
      if (justification.trim() !== (cell.justification || "")) change.justification = justification;
      if (!change.strength && change.justification === undefined) {
        $("form-status").textContent = "Nothing to change.";
        return;
      }
      write(
        () => api(`${base}/${enc(element)}`, { method: "PATCH", json: change, write: true }),
        "Changed"
      );
    } else {
      if (!strength) {
        $("error-strength").textContent = "choose a strength: strong, moderate or weak";
        $("strength-field").classList.add("invalid");
        return;
      }
      write(
        () =>
          api(base, {
            method: "POST",
            json: { element: element, strength: strength, justification: justification, mapped_by: state.session.mappedBy },
            write: true,
          }),
        "Added"
      );
    }
  }

  function removeMapping() {
    if (!currentCell()) return;
    write(
      () =>
        api(
          `/modules/${enc(state.module)}/mappings/${enc(state.element)}?mapped_by=${enc(state.session.mappedBy)}`,
          { method: "DELETE", write: true }
        ),
      "Removed"
    );
  }

  function undo() {
    write(
      () =>
        api(`/modules/${enc(state.module)}/mappings/undo`, {
          method: "POST",
          json: { mapped_by: state.session.mappedBy },
          write: true,
        }),
      "Undone"
    );
  }

  async function importFile(event) {
    event.preventDefault();
    const file = $("import-file").files[0];
    if (!file || !state.session) return;
    const form = new FormData();
    form.append("files", file, file.name);
    $("import-result").textContent = "Importing…";
    setState("busy");
    try {
      const report = await api(`/import/${enc($("import-format").value)}`, {
        method: "POST",
        body: form,
        write: true,
      });
      const batches = report.batches || [];
      $("import-result").textContent = `Imported ${file.name}: ${batches.length} batch(es) written.`;
      await loadInstitutions();
    } catch (error) {
      const problems = (error.payload && (error.payload.errors || [])) || [];
      const text = problems.length
        ? problems.map((p) => (typeof p === "string" ? p : p.detail || p.reason || JSON.stringify(p))).join("; ")
        : error.message;
      $("import-result").textContent = "Not imported: " + text;
      setState("refused");
      return;
    }
    setState("ready");
  }

  // ------------------------------------------------------------------ start
  async function loadInstitutions() {
    state.institutions = await api("/workbench/institutions");
    const wanted = readHash();
    const inst =
      state.institutions.find((i) => i.programmes.some((p) => p.id === (wanted.programme || state.programme))) ||
      state.institutions.find((i) => i.programmes.length) ||
      state.institutions[0];
    fillInstitutions(inst ? inst.id : null);
    fillProgrammes(wanted.programme || state.programme);
    await chooseProgramme($("programme").value, wanted.module);
  }

  function failed(error) {
    $("form-status").textContent = String(error.message || error);
    setState("error");
  }

  async function start() {
    loadSession();
    fillSelect(
      $("import-format"),
      data.imports.map((f) => ({ value: f.name, text: f.title })),
      null
    );
    $("import-format").addEventListener("change", () => {
      const f = data.imports.find((x) => x.name === $("import-format").value);
      $("import-file").accept = f ? f.accept : "";
    });
    $("import-file").accept = data.imports.length ? data.imports[0].accept : "";
    $("strength-options").replaceChildren(
      ...data.strengths.map((s) =>
        el("label", { class: "strength " + s }, el("input", { type: "radio", name: "strength", value: s }), " " + s)
      )
    );
    $("signin").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("institution").addEventListener("change", () => {
      fillProgrammes(null);
      chooseProgramme($("programme").value, null).catch(failed);
    });
    $("programme").addEventListener("change", () => chooseProgramme($("programme").value, null).catch(failed));
    $("module").addEventListener("change", () => chooseModule($("module").value).catch(failed));
    $("filter").addEventListener("input", renderMatrix);
    $("gaps-only").addEventListener("change", renderMatrix);
    $("mapping-form").addEventListener("submit", save);
    $("remove").addEventListener("click", removeMapping);
    $("undo").addEventListener("click", undo);
    $("back-to-matrix").addEventListener("click", backToMatrix);
    $("import-form").addEventListener("submit", importFile);
    showSession();

    const elements = await api("/workbench/elements");
    state.kinds = elements.kinds;
    for (const kind of elements.kinds) {
      for (const e of kind.elements) state.elements.set(e.iri, Object.assign({ kindLabel: kind.label }, e));
    }
    for (const f of elements.frameworks) {
      for (const item of f.items) {
        state.elements.set(item.iri, {
          iri: item.iri,
          label: item.label || item.code || item.iri,
          notation: item.code,
          curie: item.id,
          definition: "",
          kindLabel: "Item of " + (f.title || f.id || "an imported framework"),
          sources: [],
          framework: true,
        });
      }
    }
    state.element = readHash().element || null;
    await loadInstitutions();
  }

  start().catch(failed);
})();
