"""Text is cleaned at the door: every form field and query parameter of every page (through the request's
storage class), and every string of every API body (through the schemas' base class, api/schemas.py), loses
its control characters before any view, form or service reads it (text.clean_text)."""

from flask import Flask, Request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

from .text import clean_text


def clean_tree(value):
    """A JSON value with every string in it (keys too) cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_tree(key): clean_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_tree(item) for item in value]
    return value


class CleanMultiDict(ImmutableMultiDict):
    """Form fields and query parameters, cleaned as they are parsed (uploaded files pass untouched)."""

    def __init__(self, mapping=None):
        pairs = MultiDict(mapping).items(multi=True) if mapping is not None else ()
        super().__init__([(clean_text(key), clean_text(value) if isinstance(value, str) else value)
                          for key, value in pairs])


class CleanRequest(Request):
    parameter_storage_class = CleanMultiDict


def init_app(app: Flask) -> None:
    app.request_class = CleanRequest
