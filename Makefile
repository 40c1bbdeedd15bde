# The two commands a new user needs: `make demo` and `make test`.
# Every target creates or reuses .venv itself.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs bench ontology rules schemas pictures screenshots vendor clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cipd model
	$(BIN)/cipd load examples/records
	$(BIN)/cipd stats
	$(BIN)/cipd serve

# Two workers, each taking whole test files (their module fixtures stay in one process):
# 8.6 min against 14.9 min serial on two cores. `.venv/bin/python -m pytest` runs it serially.
test: $(STAMP) lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check cipd_graph tests bench
	$(BIN)/ruff format --check cipd_graph tests bench
	$(BIN)/mypy

# The documentation site, built offline into build/site (mkdocs.yml; open build/site/index.html
# from the file system or serve the folder), with the ontology's pages (build/docs) in it.
docs: $(STAMP)
	$(BIN)/cipd docs --out build/docs
	CIPD_ONTOLOGY_DOCS=build/docs NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	@echo "site: build/site/index.html"

ontology: $(STAMP)
	$(BIN)/cipd ontology --out build/ontology

# rules/compiled.json: what parsing each rule gives the derivation, so a process need not
# parse them (0.6-0.7 s); run after editing a rule (tests/test_rules.py says when).
rules: $(STAMP)
	$(BIN)/python -c "from cipd_graph.derive.rules import write_compiled; print(write_compiled())"

schemas: $(STAMP)
	$(BIN)/cipd schemas --out schemas
	$(BIN)/cipd context --out contexts/cipd.jsonld

# The analytics pictures of the sample records, committed under docs/pictures/ (a throwaway
# store with a fixed pseudonym key, so the layout of the network is the same each time).
PICTURES_STORE := build/pictures-store
pictures: $(STAMP)
	rm -rf $(PICTURES_STORE) docs/pictures
	CIPD_STORE=$(PICTURES_STORE) CIPD_PSEUDONYM_KEY=sample-pictures-key $(BIN)/cipd load examples/records >/dev/null
	for scope in all programme:nsu-msc-qi project:ward7-falls; do \
		CIPD_STORE=$(PICTURES_STORE) CIPD_PSEUDONYM_KEY=sample-pictures-key \
			$(BIN)/cipd report --scope $$scope --out docs/pictures/$$(echo $$scope | tr : -) || exit 1; \
	done

# Screenshots of the dashboard (1400 and 800 pixels wide), the query page and /docs, under docs/screenshots/
# (the sample records served from a throwaway store; needs Debian's chromium).
screenshots: $(STAMP)
	$(BIN)/python docs/_tools/screenshots.py
	$(BIN)/python docs/_tools/workbench_screenshots.py

# BENCH_SIZES=1000,10000 (projects), BENCH_DEADLINE_S, BENCH_BASELINE_S: see docs/development.md.
bench: $(STAMP)
	$(BIN)/python bench/run.py

# The SPARQL query page's editor: CodeMirror 5 (MIT) from the npm registry, kept in the package
# so the page works offline. Run only to change its version; tests check SHA256SUMS.
CODEMIRROR := 5.65.21
CODEMIRROR_DIR := cipd_graph/api/static/vendor/codemirror
vendor:
	rm -rf build/vendor && mkdir -p build/vendor $(CODEMIRROR_DIR)
	cd build/vendor && npm pack --silent codemirror@$(CODEMIRROR) >/dev/null && tar xzf codemirror-$(CODEMIRROR).tgz
	cd build/vendor/package && cp lib/codemirror.js lib/codemirror.css mode/sparql/sparql.js \
		addon/edit/matchbrackets.js LICENSE $(CURDIR)/$(CODEMIRROR_DIR)/
	echo "codemirror $(CODEMIRROR) from the npm registry (MIT licence: LICENSE)" > $(CODEMIRROR_DIR)/VERSION
	cd $(CODEMIRROR_DIR) && sha256sum codemirror.js codemirror.css sparql.js matchbrackets.js LICENSE > SHA256SUMS

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
