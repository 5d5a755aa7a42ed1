# Two commands for users: `make book` and `make test` (see README.md).
PROFILE ?= demo
# use: restore the expensive jobs from cache/<profile>/ where their key matches; off: run them
CACHE ?= use
# 1: the pipeline's jobs fork from one process that imported TensorFlow and the package once
# (facelrp.warm); worth it where jobs are short (smoke: the tests use it), noise at demo size
WARM ?= 0
ifeq ($(WARM),1)
WARM_RUN := python -m facelrp warm --
endif
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

ifeq ($(PROFILE),demo)
TOC := _toc.yml
BUILD := .
else
TOC := results/$(PROFILE)/_toc.yml
BUILD := results/$(PROFILE)
endif

.PHONY: setup pipeline book test pretrain clean-book browser check-book reproduce cache cache-status publish-dir linkcheck

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	"$(BIN)/pip" install --quiet --upgrade pip
	"$(BIN)/pip" install --quiet -r requirements.txt -e .
	touch $@

# The live inputs (faces) first, then the rest: the cache checks its entries against the
# bytes of the inputs made here (facelrp.cache), which then exist.
pipeline: $(STAMP)
	$(WARM_RUN) snakemake -s workflow/Snakefile live_inputs --cores 2 --rerun-incomplete --config profile=$(PROFILE) cache=$(CACHE)
	$(WARM_RUN) snakemake -s workflow/Snakefile --cores 2 --rerun-incomplete --config profile=$(PROFILE) cache=$(CACHE)

# The whole pipeline from nothing, the cache off (resumable: the same command goes on after an
# interrupt), then every fresh result compared with the shipped cache, one line per job.
reproduce: $(STAMP)
	$(MAKE) pipeline CACHE=off
	python -m facelrp cache-verify --profile $(PROFILE)

# Which expensive jobs `make book` restores from the cache, and why the others would run.
cache-status: $(STAMP)
	python -m facelrp cache-status --profile $(PROFILE)

# Remake the cache shipped in cache/$(PROFILE)/ from a complete run with the cache off.
cache: $(STAMP)
	$(MAKE) pipeline CACHE=off
	python -m facelrp cache-store --profile $(PROFILE)

book: pipeline
ifneq ($(PROFILE),demo)
	python -m facelrp book-toc --profile $(PROFILE) --out $(TOC)
endif
	jupyter-book build . --toc $(TOC) --path-output $(BUILD) -n -W --keep-going
	@echo "book: $(BUILD)/_build/html/index.html"

test: $(STAMP) browser
	pytest

# Debian's Chromium and its driver for the browser check (installed when missing; needs root).
browser:
	@command -v chromedriver >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

# Every page of the built book in headless Chromium: missing images, empty figures,
# error cells, broken internal links; a screenshot of each page beside the book.
check-book: book browser
	python -m facelrp check-book --html $(BUILD)/_build/html --screenshots $(BUILD)/_build/screenshots

# The static site CI publishes: the built book's HTML as it is served (site/; .nojekyll so
# that GitHub Pages serves the _static/ and _images/ folders).
SITE ?= site
publish-dir: check-book
	rm -rf $(SITE)
	cp -r $(BUILD)/_build/html $(SITE)
	touch $(SITE)/.nojekyll
	@echo "site: $(SITE)/index.html"

# Every external link of the book, followed (needs the internet: CI runs it on a schedule).
linkcheck: pipeline
	jupyter-book build . --toc $(TOC) --path-output $(BUILD) --builder linkcheck

# Remake the demo trunks shipped in weights/, one after the other with both cores each (side
# by side they would only share the cores and add up their memory). Interrupted, the same
# command goes on from the last finished epoch (weights/demo-<source>.partial/).
pretrain: $(STAMP)
	python -m facelrp pretrain --profile demo --source imagenet --threads 2 > weights/demo-imagenet.log 2>&1
	python -m facelrp pretrain --profile demo --source vggface --threads 2 > weights/demo-vggface.log 2>&1
	cd weights && sha256sum demo-imagenet.h5 demo-vggface.h5 > SHA256SUMS
	@tail -n 1 weights/demo-imagenet.log weights/demo-vggface.log

clean-book:
	rm -rf _build results/*/_build
