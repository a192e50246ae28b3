"""`flask --app wsgi …` commands: the names API.md fixes, the same on every installation."""

import sys
import time
from datetime import datetime

import click
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from . import tasks
from .audit.services import acting_as
from .auth import services as auth_services
from .auth.models import Role
from .backup import BackupError, backup, restore
from .calendar.replies import receive_mail
from .demo import national as national_demo
from .demo import small as small_demo
from .exceptions import ServiceError
from .extensions import db
from .issues.services import queue_digests
from .mail import SEND_TASK
from .mail.imap import MailboxUnreachable
from .mail.services import send_all
from .notifications import receivers as notification_receivers
from .notifications import services as notification_services
from .org.models import Unit
from .org.services import unit_by_code
from .reports import snapshots
from .scheduling.services import announce_pending
from .search import index as search_index


def register_commands(app: Flask) -> None:
    @app.cli.command("search-reindex")
    def search_reindex() -> None:
        """Build the search index again from the data (after a bulk import, or to repair it)."""
        with click.progressbar(length=search_index.document_total(), label="Search index", show_pos=True) as bar:
            count = search_index.rebuild(progress=bar.update)
        db.session.commit()
        click.echo(f"{count} document(s) indexed.")

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the schema by running the migrations (safe to run again)."""
        upgrade()
        click.echo("Database schema is up to date.")
        # An upgrade that brings the search finds the data already there indexed (once: an index with
        # documents is left as it is).
        indexed = search_index.fill_if_empty()
        db.session.commit()
        if indexed:
            click.echo(f"Search index built: {indexed} document(s).")

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
    @click.option("--name", required=True)
    @click.option("--unit", "unit_code", help="Code of the unit (not needed for an admin).")
    @click.option("--language", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
    def create_user(email, password, role, name, unit_code, language) -> None:
        """Create an account."""
        unit = None
        if unit_code:
            unit = unit_by_code(unit_code.strip().upper())
            if unit is None:
                raise click.BadParameter(f"no unit has the code {unit_code!r}", param_hint="--unit")
        try:
            with acting_as("cli:create-user"):
                user = auth_services.create_user(email=email, name=name, password=password, role=role,
                                                 unit=unit, language=language)
                db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            details = "; ".join(f"{k}: {', '.join(str(m) for m in v)}" for k, v in error.fields.items())
            raise click.ClickException(details or str(error.message)) from None
        click.echo(f"Created {user.role} {user.email}.")

    @app.cli.command("worker")
    @click.option("--workers", default=2, show_default=True, help="Tasks run at the same time (threads).")
    def worker(workers: int) -> None:
        """Run all background work until stopped: mail, reports, digests, imports, and what the clock starts
        (tasks.SCHEDULE). Start it beside the web server; any number of workers may share one REDIS_URL."""
        if tasks.huey.immediate:
            raise click.ClickException("HUEY_IMMEDIATE is set: tasks run in the web process, there is no queue.")
        click.echo(f"Worker: {workers} threads on {type(tasks.huey.storage).__name__}; by the clock: "
                   + ", ".join(name for name in tasks.SCHEDULE if tasks.registered(name)))
        # Day-off changes committed while no task could be queued (the web process stopped in between).
        announced = announce_pending()
        if announced:
            click.echo(f"Announced {announced} changed meeting(s) left waiting.")
        # Mail queued while no worker ran (by seed-demo, say) leaves now rather than at the next minute.
        tasks.nudge(SEND_TASK)
        tasks.run_worker(workers)

    # The worker runs these by the clock; as commands they are one round, for operators (--loop is kept for
    # installations that ran them as services before the worker did).
    @app.cli.command("send-mail")
    @click.option("--loop", is_flag=True, help="Keep sending until stopped (the worker does this already).")
    @click.option("--interval", default=10, show_default=True, help="Seconds between rounds with --loop.")
    def send_mail(loop: bool, interval: int) -> None:
        """Send what waits in the outbox now, and exit."""
        while True:
            report = send_all()
            if report.sent or report.failed or report.dead or not loop:
                click.echo(f"sent {report.sent}, will retry {report.failed}, given up {report.dead}")
            if not loop:
                return
            db.session.remove()
            time.sleep(interval)

    @app.cli.command("receive-mail")
    @click.option("--loop", is_flag=True, help="Keep reading until stopped.")
    @click.option("--interval", default=60, show_default=True, help="Seconds between rounds with --loop.")
    def receive_mail_command(loop: bool, interval: int) -> None:
        """Read the organiser mailbox (IMAP_*) once, recording the answers calendars mailed (or keep going with
        --loop). Exits non-zero when the mailbox cannot be reached."""
        while True:
            try:
                report = receive_mail(app.config)
            except MailboxUnreachable as error:
                if not loop:
                    raise click.ClickException(f"receive-mail: {error}") from None
                click.echo(f"receive-mail: {error}; trying again in {interval} s", err=True)
            else:
                if any(report.counts.values()) or not loop:
                    click.echo(f"receive-mail: {report.summary()}")
            if not loop:
                return
            db.session.remove()
            time.sleep(interval)

    @app.cli.command("refresh-reports")
    @click.option("--loop", is_flag=True, help="Keep refreshing until stopped (the worker does this already).")
    @click.option("--interval", default=30, show_default=True, help="Seconds between rounds with --loop.")
    @click.option("--all", "everything", is_flag=True, help="Recompute every period with data, not only changed ones.")
    def refresh_reports(loop: bool, interval: int, everything: bool) -> None:
        """Bring the reports' snapshots up to date now, so that report pages seldom wait for them."""
        if everything:
            periods = snapshots.all_periods(snapshots.years_with_data())
            snapshots.refresh(periods)
            db.session.commit()
            click.echo(f"{len(periods)} period(s) recomputed.")
        while True:
            count = snapshots.refresh_changed()
            if count or not loop:
                click.echo(f"{count} period(s) refreshed.")
            if not loop:
                return
            db.session.remove()
            time.sleep(interval)

    @app.cli.command("send-digests")
    def send_digests() -> None:
        """Queue the daily mails (sent by send-mail): each assignee's and unit head's overdue and due-soon
        issues, and each person's notifications they chose to read in a digest."""
        with acting_as("cli:send-digests"):
            count = queue_digests()
            notices = notification_services.send_digests()
            db.session.commit()
        click.echo(f"{count} digest(s) queued.")
        click.echo(f"{notices} notification digest(s) queued.")

    @app.cli.command("notify-overdue")
    def notify_overdue() -> None:
        """Tell the assignee and unit heads of each issue gone past its due date (once per issue)."""
        with acting_as("cli:notify-overdue"):
            count = notification_receivers.notify_overdue()
            db.session.commit()
        click.echo(f"{count} overdue issue(s) told of.")

    @app.cli.command("backup")
    @click.argument("target", type=click.Path(dir_okay=False), required=False)
    def backup_command(target) -> None:
        """Copy the database to TARGET (default: instance/backups/dialogue-<time>) while the app runs."""
        db.session.remove()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        suffix = ".db" if url.startswith("sqlite") else ".dump"
        target = target or f"{app.instance_path}/backups/dialogue-{datetime.now():%Y%m%d-%H%M%S}{suffix}"
        try:
            written = backup(url, target)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Backup written to {written}")

    @app.cli.command("restore")
    @click.argument("source", type=click.Path(exists=True, dir_okay=False))
    @click.option("--yes", is_flag=True, help="Do not ask: replace the database's content.")
    def restore_command(source, yes: bool) -> None:
        """Replace the database's content with the backup SOURCE."""
        if not yes and not click.confirm("Replace everything in the database with this backup?"):
            raise click.Abort()
        db.session.remove()
        db.engine.dispose()
        try:
            restore(app.config["SQLALCHEMY_DATABASE_URI"], source)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo("Database restored.")

    @app.cli.command("seed-demo")
    @click.option("--password", help="One password for every demo account (default: a new one each).")
    @click.option("--scale", type=click.Choice(["small", "national"]), default="small", show_default=True,
                  help="small: a few branches to try things out; national: the whole service over five years "
                       "(35 Departments, 200 branches, 50,000 businesses, 300,000 issues; a few minutes).")
    def seed_demo(password, scale) -> None:
        """Fill an empty database with a realistic Vietnamese demo and print the demo accounts."""

        if db.session.execute(select(func.count()).select_from(Unit)).scalar_one():
            click.echo("The database already has data: the demo is only added to an empty database.")
            return
        with acting_as("cli:seed-demo"):
            if scale == "national":

                started = time.perf_counter()
                # One bar per stage, on stderr: the accounts printed on stdout stay easy to copy or pipe.
                accounts = national_demo.seed_national(
                    password=password, progress=lambda label, length: click.progressbar(
                        length=length, label=f"{label:<26}", file=sys.stderr, show_eta=True, show_pos=True))
                db.session.commit()
                # The demo is written in bulk, past the listeners that keep the reports current: compute them.
                periods = snapshots.all_periods(snapshots.years_with_data())
                with click.progressbar(periods, label=f"{'report snapshots':<26}", file=sys.stderr,
                                       show_pos=True) as bar:
                    for period in bar:
                        snapshots.refresh([period])
                        db.session.commit()
                # Written in bulk, below the listeners that keep the search index current: build it.
                with click.progressbar(length=search_index.document_total(), label=f"{'search index':<26}",
                                       file=sys.stderr, show_pos=True) as bar:
                    search_index.rebuild(progress=bar.update)
                db.session.commit()
                click.echo(f"National demo built in {time.perf_counter() - started:.0f} s.")
            else:
                accounts = small_demo.seed(password=password)
                db.session.commit()
        click.echo("Demo data added. Accounts (email / password):")
        for role, email, secret in accounts:
            click.echo(f"  {role:<10} {email:<36} {secret}")
