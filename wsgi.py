import gc

from dialogue_app import create_app

app = create_app()
# What the app holds from start to finish (modules, templates, metadata) is never garbage. Frozen out of the
# collector's reach, a full collection no longer walks it in the middle of a request: it was half the p95 of
# the largest report pages.
gc.collect()
gc.freeze()
