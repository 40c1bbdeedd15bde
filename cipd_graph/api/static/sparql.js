// The SPARQL query page: an editor (CodeMirror, shipped with the package), the named
// queries as examples, a results table, downloads, and errors shown where they happen.
// Everything it loads comes from this server.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const SHOWN_ROWS = 1000;
  const FORMATS = {
    table: [
      ["csv", "CSV", "text/csv"],
      ["tsv", "TSV", "text/tab-separated-values"],
      ["json", "JSON", "application/sparql-results+json"],
      ["xml", "XML", "application/sparql-results+xml"],
    ],
    boolean: [
      ["json", "JSON", "application/sparql-results+json"],
      ["xml", "XML", "application/sparql-results+xml"],
    ],
    graph: [
      ["ttl", "Turtle", "text/turtle"],
      ["nt", "N-Triples", "application/n-triples"],
      ["jsonld", "JSON-LD", "application/ld+json"],
    ],
  };

  const prefixes = Object.entries(data.prefixes);
  const starter =
    prefixes.map(([p, ns]) => `PREFIX ${p}: <${ns}>`).join("\n") +
    "\n\n# The four strands of the tapestry\nSELECT ?strand ?label WHERE {\n" +
    "  ?strand a cipd:Strand ; rdfs:label ?label .\n}\nORDER BY ?label\n";

  const textarea = $("query");
  const editor = window.CodeMirror
    ? window.CodeMirror.fromTextArea(textarea, {
        mode: "application/sparql-query",
        lineNumbers: true,
        matchBrackets: true,
        indentUnit: 2,
        viewportMargin: Infinity,
        extraKeys: { "Ctrl-Enter": () => run(), "Cmd-Enter": () => run() },
      })
    : null;
  const getText = () => (editor ? editor.getValue() : textarea.value);
  const setText = (text) => (editor ? editor.setValue(text) : (textarea.value = text));
  let marked = null;
  let lastQuery = "";

  function setState(state) {
    body.dataset.state = state;
  }

  function compact(iri) {
    for (const [p, ns] of prefixes) {
      if (iri.startsWith(ns) && /^[\w-]*$/.test(iri.slice(ns.length))) {
        return `${p}:${iri.slice(ns.length)}`;
      }
    }
    return `<${iri}>`;
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
    if (editor && marked !== null) {
      editor.removeLineClass(marked, "background", "cm-error-line");
      marked = null;
    }
  }

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = false;
    $("status").textContent = "";
    $("results").hidden = true;
    $("graph").hidden = true;
    $("downloads").hidden = true;
    const where = /error at (\d+):(\d+)/.exec(message);
    if (editor && where) {
      marked = Number(where[1]) - 1;
      editor.addLineClass(marked, "background", "cm-error-line");
      editor.setCursor({ line: marked, ch: Math.max(0, Number(where[2]) - 1) });
    }
    setState("error");
  }

  async function errorText(response) {
    const text = await response.text();
    try {
      const problem = JSON.parse(text);
      const detail = problem.detail ?? problem.title ?? text;
      return `${response.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
    } catch (_) {
      return `${response.status}: ${text || response.statusText}`;
    }
  }

  function post(query, accept) {
    return fetch(data.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: accept },
      body: new URLSearchParams({ query }),
    });
  }

  function cell(term) {
    const td = document.createElement("td");
    if (!term) return td;
    if (term.type === "uri") {
      td.textContent = compact(term.value);
      td.title = term.value;
    } else if (term.type === "bnode") {
      td.textContent = `_:${term.value}`;
    } else {
      td.textContent = term.value;
      const extra = term["xml:lang"] ? `@${term["xml:lang"]}` : term.datatype ? ` ${compact(term.datatype)}` : "";
      if (extra) {
        const span = document.createElement("span");
        span.className = "dt";
        span.textContent = extra;
        td.appendChild(span);
      }
    }
    return td;
  }

  function showTable(variables, rows) {
    const table = $("results");
    const head = document.createElement("tr");
    for (const v of variables) {
      const th = document.createElement("th");
      th.textContent = `?${v}`;
      head.appendChild(th);
    }
    table.tHead.replaceChildren(head);
    const lines = rows.slice(0, SHOWN_ROWS).map((row) => {
      const tr = document.createElement("tr");
      for (const v of variables) tr.appendChild(cell(row[v]));
      return tr;
    });
    table.tBodies[0].replaceChildren(...lines);
    table.hidden = false;
  }

  function showDownloads(kind) {
    const links = FORMATS[kind].map(([ext, label, type]) => {
      const a = document.createElement("a");
      a.href = "#";
      a.id = `download-${ext}`;
      a.textContent = label;
      a.addEventListener("click", (event) => {
        event.preventDefault();
        download(ext, type);
      });
      return a;
    });
    $("download-links").replaceChildren(...links);
    $("downloads").hidden = false;
  }

  async function download(ext, type) {
    const response = await post(lastQuery, type);
    if (!response.ok) {
      showError(await errorText(response));
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = `results.${ext}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  async function run() {
    const query = getText();
    lastQuery = query;
    clearError();
    setState("running");
    $("status").textContent = "running…";
    const url = new URL(window.location.href);
    url.search = new URLSearchParams({ query }).toString();
    history.replaceState(null, "", url);
    const started = performance.now();
    let response;
    try {
      response = await post(query, "application/sparql-results+json, text/turtle;q=0.9");
    } catch (error) {
      showError(`the server could not be reached: ${error.message}`);
      return;
    }
    if (!response.ok) {
      showError(await errorText(response));
      return;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const notes = [];
    if (response.headers.get("X-CIPD-Truncated") === "true") {
      notes.push(`cut at the limit of ${data.cap} results`);
    }
    for (const w of (response.headers.get("Warning") || "").matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
      if (!w[1].startsWith("results truncated")) notes.push(w[1]);
    }
    const type = (response.headers.get("Content-Type") || "").split(";")[0];
    $("graph").hidden = true;
    $("results").hidden = true;
    let summary;
    if (type === "application/sparql-results+json") {
      const answer = await response.json();
      if ("boolean" in answer) {
        showTable(["answer"], [{ answer: { type: "literal", value: String(answer.boolean) } }]);
        summary = `ASK: ${answer.boolean}`;
        showDownloads("boolean");
      } else {
        const rows = answer.results.bindings;
        showTable(answer.head.vars, rows);
        summary = `${rows.length} row${rows.length === 1 ? "" : "s"}`;
        if (rows.length > SHOWN_ROWS) summary += ` (the first ${SHOWN_ROWS} shown; download them all)`;
        showDownloads("table");
      }
    } else {
      const text = await response.text();
      $("graph").textContent = text;
      $("graph").hidden = false;
      summary = "triples (Turtle)";
      showDownloads("graph");
    }
    $("status").textContent = `${summary} in ${seconds} s${notes.length ? " — " + notes.join("; ") : ""}`;
    setState("done");
  }

  // the examples: every named query of the catalogue
  const select = $("examples");
  for (const example of data.examples) {
    const option = document.createElement("option");
    option.value = example.name;
    option.textContent = `${example.name}: ${example.summary}`;
    select.appendChild(option);
  }
  let shown = null; // the example in the editor, until the text is changed
  select.addEventListener("change", () => {
    const example = data.examples.find((e) => e.name === select.value);
    if (!example) return;
    shown = example;
    setText(example.text);
    const params = example.parameters.map((p) => `?${p}`);
    const open =
      params.length === 0
        ? ""
        : params.length === 1
          ? ` Its parameter ${params[0]} is open: bind it with VALUES to narrow the answer.`
          : ` Its parameters ${params.join(", ")} are open: bind them with VALUES to narrow the answer.`;
    $("example-summary").textContent = example.summary + open;
  });
  const edited = () => {
    if (shown && getText() !== shown.text) {
      shown = null;
      select.value = "";
      $("example-summary").textContent = "";
    }
  };
  if (editor) editor.on("change", edited);
  else textarea.addEventListener("input", edited);
  $("run").addEventListener("click", () => run());

  const list = $("prefix-list").querySelector("dl");
  for (const [p, ns] of prefixes) {
    const dt = document.createElement("dt");
    dt.textContent = `${p}:`;
    const dd = document.createElement("dd");
    dd.textContent = ns;
    list.append(dt, dd);
  }
  $("limits").textContent =
    `Read-only: each query runs at most ${data.timeout} s and returns at most ${data.cap} results. ` +
    "Relative IRIs resolve against this page's address. Ctrl+Enter runs the query.";

  const given = new URLSearchParams(window.location.search).get("query");
  setText(given || starter);
  setState("ready");
  if (given) run();
})();
