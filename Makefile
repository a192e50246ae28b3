# Dialogue: everyday commands. Recipes are plain POSIX sh (dash is fine).
#
#   make install        virtualenv in .venv with the app and the test tools (cheap to re-run)
#   make run            create/upgrade the database, add the demo if it is empty, serve on 127.0.0.1:5000
#                       with the worker and a local mail server beside it (the mail: http://127.0.0.1:5000/dev/mail)
#   make test           the whole test suite (installs everything first: Debian's chromium, softhsm2, poppler, qpdf,
#                       dovecot-imapd, libical's GObject bindings, node's ical.js)
#   make test-postgres  the suite again on PostgreSQL (127.0.0.1:5432), in a throwaway database
#   make lint           ruff, and import-linter for the layers of the house (setup.cfg)
#   make install-check  build the wheel, install it elsewhere, serve it with gunicorn and fetch pages, PDF, feed
#   make translations   extract, update and compile the message catalogs
#   make clean-data     remove the SQLite database (the demo is added again by the next 'make run')
#   make bench          every benchmark the issues ask for, into docs/benchmarks.md (BENCH_ARGS=--load: load test too)
#   make load           the load test: 10 minutes of locust against gunicorn and the national demo in PostgreSQL
#   make clean          remove the virtualenv, the instance folder and the caches
#
# Variables: PYTEST_ARGS="-q tests/auth", DEMO_PASSWORD="one password for every demo account",
# PG_HOST / PG_PORT / PG_USER for test-postgres, BENCH_ARGS for bench (bench/report.py --help), LOAD_ARGS for load
# (bench/load.py --help).

PYTHON ?= python3
VENV = .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed
FLASK = $(BIN)/flask --app wsgi
CHROMIUM = /usr/bin/chromium

DEMO_PASSWORD ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=
LOAD_ARGS ?=

PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
PG_USER ?= postgres
PG_SERVER = postgresql://$(PG_USER)@$(PG_HOST):$(PG_PORT)

# apt-get waits up to two minutes for another apt-get (or unattended-upgrades) holding the dpkg lock, and says
# plainly what to do when it still cannot install. Usage in a recipe: $(APT_INSTALL) PACKAGE...
APT_GET = DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120
APT_INSTALL = apt_install() { \
	  $(APT_GET) update && $(APT_GET) install -y "$$@" || { \
	    echo "apt-get could not install $$*. If another apt-get or unattended-upgrades holds the dpkg lock,"; \
	    echo "wait for it to finish (ps -C apt-get,dpkg,unattended-upgr), then run this make command again."; \
	    return 1; }; \
	}; apt_install

.PHONY: install pdf-deps signing-deps imap-deps browser js ical-deps run test test-postgres lint install-check translations bench load clean-data clean

install: $(STAMP)

# Rebuilt only when the package's requirements change (or the virtualenv is gone).
$(STAMP): setup.cfg pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  echo "Creating the virtualenv in $(VENV)"; \
	  $(PYTHON) -m venv $(VENV) || { \
	    echo "Could not create the virtualenv: on Debian, install python3-venv (apt-get install python3-venv)."; \
	    exit 1; }; \
	fi
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
	@touch $(STAMP)

# The browser tests drive Debian's chromium; without it they are skipped, so this never fails.
browser:
	@if [ -x $(CHROMIUM) ]; then \
	  echo "Chromium for the browser tests: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(APT_INSTALL) chromium \
	    || echo "Note: chromium could not be installed: the browser tests will be skipped."; \
	else \
	  echo "Note: $(CHROMIUM) is missing, so the browser tests will be skipped."; \
	  echo "      Install it with: sudo apt-get install chromium   (or run 'make browser' as root)"; \
	fi

# WeasyPrint draws PDFs with Pango and subsets fonts with HarfBuzz: Debian's libraries.
PDF_LIBS = libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
pdf-deps:
	@if dpkg -s $(PDF_LIBS) >/dev/null 2>&1; then \
	  echo "Pango and HarfBuzz for WeasyPrint: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing $(PDF_LIBS) for WeasyPrint"; \
	  $(APT_INSTALL) $(PDF_LIBS); \
	else \
	  echo "Note: WeasyPrint needs $(PDF_LIBS) (sudo apt-get install $(PDF_LIBS))"; \
	fi

# Signed minutes: the tests sign with a real PKCS#11 token (SoftHSM2), and have poppler's pdfsig (trusting
# the test CA through an NSS database made with certutil) and qpdf check the files. Without them those tests
# are skipped (failed under CI=true), so this never fails.
SIGNING_PKGS = softhsm2 poppler-utils qpdf libnss3-tools
signing-deps:
	@if dpkg -s $(SIGNING_PKGS) >/dev/null 2>&1; then \
	  echo "SoftHSM2, pdfsig, qpdf and certutil for the signing tests: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing $(SIGNING_PKGS) for the signing tests"; \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(SIGNING_PKGS); } \
	    || echo "Note: $(SIGNING_PKGS) could not be installed: the signing tests will be skipped."; \
	else \
	  echo "Note: the signing tests need $(SIGNING_PKGS) (sudo apt-get install $(SIGNING_PKGS))"; \
	fi

# libical's iTIP restriction check (RFC 5546) reads every calendar Dialogue writes, through Debian's python3
# (tests/calendar/libical_check.py): without it those tests are skipped (failed under CI=true), so this never fails.
ICAL_PKGS = gir1.2-ical-3.0 python3-gi
ical-deps:
	@if dpkg -s $(ICAL_PKGS) >/dev/null 2>&1; then \
	  echo "libical-glib and python3-gi for the iTIP checks: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing $(ICAL_PKGS) for the iTIP checks"; \
	  $(APT_INSTALL) $(ICAL_PKGS) \
	    || echo "Note: $(ICAL_PKGS) could not be installed: the iTIP checks will be skipped."; \
	else \
	  echo "Note: the iTIP checks need $(ICAL_PKGS) (sudo apt-get install $(ICAL_PKGS))"; \
	fi

# Answers from calendars: the tests (and bench/receive_mail.py) read a real IMAP server, Debian's Dovecot, which
# the test fixture starts on its own (tests/dovecot.py). Without it those tests are skipped (failed under CI=true),
# so this never fails.
IMAP_PKGS = dovecot-imapd
imap-deps:
	@if dpkg -s $(IMAP_PKGS) >/dev/null 2>&1; then \
	  echo "Dovecot for the IMAP tests: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing $(IMAP_PKGS) for the IMAP tests"; \
	  $(APT_INSTALL) $(IMAP_PKGS) \
	    || echo "Note: $(IMAP_PKGS) could not be installed: the IMAP tests will be skipped."; \
	else \
	  echo "Note: the IMAP tests need $(IMAP_PKGS) (sudo apt-get install $(IMAP_PKGS))"; \
	fi

# Mozilla's ical.js (from npm, run with node) reads the calendars Dialogue writes, as a second opinion.
js:
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's nodejs and npm for the ical.js checks"; \
	  $(APT_INSTALL) nodejs npm \
	    || echo "Note: node could not be installed: the ical.js checks will be skipped."; \
	fi
	@if command -v npm >/dev/null 2>&1; then \
	  [ -d tests/js/node_modules/ical.js ] || npm install --prefix tests/js --no-audit --no-fund --silent \
	    || echo "Note: ical.js could not be installed: the ical.js checks will be skipped."; \
	else \
	  echo "Note: node/npm are missing, so the ical.js checks will be skipped."; \
	fi

# The worker (all background work: mail, reports, digests, imports) runs beside the web server and stops with it,
# and so does a small local mail server (aiosmtpd) that keeps each mail the app sends in instance/mail, shown at
# /dev/mail: a newcomer reads the demo's mail with no mail server to install. MAIL_SERVER set in the environment
# (a real one) is used instead.
DEV_MAIL_PORT ?= 8025
run: install pdf-deps
	$(FLASK) init-db
	$(FLASK) seed-demo$(if $(DEMO_PASSWORD), --password '$(DEMO_PASSWORD)')
	@if [ -z "$$MAIL_SERVER" ]; then \
	  export MAIL_SERVER=127.0.0.1 MAIL_PORT=$(DEV_MAIL_PORT) DEV_MAIL_DIR="$(CURDIR)/instance/mail"; \
	  $(BIN)/python -m aiosmtpd -n -l 127.0.0.1:$(DEV_MAIL_PORT) -c aiosmtpd.handlers.Mailbox "$$DEV_MAIL_DIR" & sink=$$!; \
	fi; \
	$(FLASK) worker & worker=$$!; \
	trap 'kill $$worker $$sink 2>/dev/null; wait $$worker $$sink 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	if [ -n "$$sink" ]; then echo "Mail the app sends (no mail server needed): http://127.0.0.1:5000/dev/mail (signed in as the admin)"; fi; \
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install pdf-deps signing-deps imap-deps browser js ical-deps
	$(BIN)/pytest $(PYTEST_ARGS)

# The suite on PostgreSQL, in a database made for this run and dropped afterwards (also when tests fail
# or the run is interrupted); the exit status is pytest's. Skipped (status 0) when no server answers.
test-postgres: install pdf-deps signing-deps imap-deps js ical-deps
	@if command -v pg_isready >/dev/null 2>&1; then \
	  pg_isready -q -h $(PG_HOST) -p $(PG_PORT) -t 5; \
	else \
	  $(BIN)/python -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=5).close()' \
	    '$(PG_SERVER)/postgres' >/dev/null 2>&1; \
	fi || { echo "PostgreSQL is not answering on $(PG_HOST):$(PG_PORT): skipping the PostgreSQL run"; exit 0; }; \
	sql() { \
	  if command -v psql >/dev/null 2>&1; then \
	    psql -X -q -w -v ON_ERROR_STOP=1 -h $(PG_HOST) -p $(PG_PORT) -U $(PG_USER) -d postgres -c "$$1"; \
	  else \
	    $(BIN)/python -c 'import sys, psycopg; c = psycopg.connect(sys.argv[1], autocommit=True); c.execute(sys.argv[2]); c.close()' \
	      '$(PG_SERVER)/postgres' "$$1"; \
	  fi; \
	}; \
	name=dialogue_test_$$$$_$$(date +%s); \
	sql "CREATE DATABASE $$name" || exit 1; \
	trap 'echo "Dropping the throwaway database $$name"; sql "DROP DATABASE IF EXISTS $$name WITH (FORCE)" || sql "DROP DATABASE IF EXISTS $$name" || echo "Could not drop the database $$name: drop it by hand."' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "PostgreSQL run in the throwaway database $$name"; \
	status=0; \
	TEST_DATABASE_URL=$(PG_SERVER)/$$name $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	exit $$status

lint: install
	$(BIN)/ruff check dialogue_app tests bench
	$(BIN)/lint-imports

# The README's production install, proven: the wheel into a fresh virtualenv, gunicorn started from another
# directory on a fresh database, a page, a minutes PDF and a feed fetched over HTTP (.ci/install_check.py).
install-check: install pdf-deps
	$(BIN)/python .ci/install_check.py

translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --add-comments=Translators: --width 120 \
	  -o dialogue_app/translations/messages.pot dialogue_app templates
	$(BIN)/pybabel update --width 120 -i dialogue_app/translations/messages.pot -d dialogue_app/translations
	$(BIN)/pybabel compile -d dialogue_app/translations

# Every benchmark, one after the other, and docs/benchmarks.md from their figures. The feed benchmark loads
# with wrk (Debian's, installed here when root); without it, it loads with Python threads, so this never fails.
bench: install pdf-deps signing-deps imap-deps
	@$(BIN)/python -c 'import gunicorn, locust' 2>/dev/null || $(BIN)/python -m pip install -e '.[test,bench]'
	@if command -v wrk >/dev/null 2>&1; then \
	  echo "wrk for the feed benchmark: $$(command -v wrk)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's wrk for the feed benchmark"; \
	  $(APT_INSTALL) wrk \
	    || echo "Note: wrk could not be installed: the feed benchmark will load with Python threads."; \
	else \
	  echo "Note: wrk is missing, so the feed benchmark will load with Python threads."; \
	  echo "      Install it with: sudo apt-get install wrk   (or run 'make bench' as root)"; \
	fi
	$(BIN)/python bench/report.py $(BENCH_ARGS)

# The load test (issue 9): needs PostgreSQL on 127.0.0.1:5432 with the national demo in the database national_demo
# (DATABASE_URL=postgresql://postgres@127.0.0.1:5432/national_demo $(FLASK) seed-demo --scale national).
load: install
	@$(BIN)/python -c 'import gunicorn, locust' 2>/dev/null || $(BIN)/python -m pip install -e '.[test,bench]'
	$(BIN)/python bench/load.py $(LOAD_ARGS)

clean-data:
	rm -f instance/dialogue.db

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
