from ..calendar.services import prefetch_tokens
from ..extensions import paginate


def page_payload(stmt, args: dict, feed_kind: str | None = None) -> dict:
    """One page of `stmt` in the list envelope of API.md; `args` comes from PageArgsSchema. With `feed_kind`,
    the items' calendar feed keys are loaded in one query for their `feed_url`."""
    page = paginate(stmt, page=args["page"], per_page=args["per_page"], max_per_page=200)
    if feed_kind is not None:
        prefetch_tokens(feed_kind, [item.id for item in page.items])
    return {"items": page.items, "page": page.page, "per_page": page.per_page, "total": page.total}
