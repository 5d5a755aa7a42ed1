# Two commands for users: `make book` and `make test` (see README.md).
PROFILE ?= demo
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

.PHONY: setup pipeline book test clean-book

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -e .
	touch $@

pipeline: $(STAMP)
	snakemake -s workflow/Snakefile --cores 2 --config profile=$(PROFILE)

book: pipeline
ifneq ($(PROFILE),demo)
	python -m facelrp book-toc --profile $(PROFILE) --out $(TOC)
endif
	jupyter-book build . --toc $(TOC) --path-output $(BUILD) -W --keep-going
	@echo "book: $(BUILD)/_build/html/index.html"

test: $(STAMP)
	pytest

clean-book:
	rm -rf _build results/*/_build
