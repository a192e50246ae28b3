"""Hands the blueprint on, lazily: importing this package's models must not import its views, which
import the models of other domains (and, through `scope`, this package's again)."""


def __getattr__(name: str):
    if name == "bp":
        from .views import bp

        return bp
    raise AttributeError(name)
