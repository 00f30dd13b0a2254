# The two commands of the README:
#   make book   set everything up, build the course, print where to open it
#   make test   the whole test suite: unit tests, every chapter re-executed (nbval), the book build
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH  := torch==2.14.1 torchvision==0.29.1

.PHONY: book test setup clean

setup: $(VENV)/.ready

$(VENV)/.ready: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -r requirements.txt
	# the independent attack library, without its requests==2.25 pin (which would downgrade requests)
	$(PY) -m pip install -q --no-deps torchattacks==3.5.1
	$(PY) -m pip install -q --no-build-isolation -e .
	touch $@

book: setup
	$(PY) -m tutorial_lib slides --out _slides    # the guide links one PDF deck per chapter
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo
	@echo "The course is built. Open it in your browser:"
	@echo "    file://$(CURDIR)/_build/html/index.html"

test: setup
	PY=$(PY) bash .ci/test.sh

clean:
	rm -rf _build $(VENV)
