"""Search over issues, businesses, contacts, series, meetings and minutes (and the public answers).

`init_app(app)`, called by create_app, registers everything the search needs: the FTS5 table made with the
schema, the session listeners that keep the index current, the pages and the `search-reindex` command.
"""

import click
from flask import Flask
from flask.cli import with_appcontext

from ..extensions import db
from . import index, models, views


def init_app(app: Flask) -> None:
    models.register_structures()
    index.register_listeners()
    app.register_blueprint(views.bp)
    app.cli.add_command(search_reindex)


@click.command("search-reindex")
@with_appcontext
def search_reindex() -> None:
    """Build the search index again from the data (after a bulk import, or to repair it)."""
    with click.progressbar(length=index.document_total(), label="Search index", show_pos=True) as bar:
        count = index.rebuild(progress=bar.update)
    db.session.commit()
    click.echo(f"{count} document(s) indexed.")
