from ..extensions import db


def page_payload(stmt, args: dict) -> dict:
    """One page of `stmt` in the list envelope of API.md; `args` comes from PageArgsSchema."""
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], max_per_page=200, error_out=False,
                       count=True)
    return {"items": page.items, "page": page.page, "per_page": page.per_page, "total": page.total}
