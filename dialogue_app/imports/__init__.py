"""Hands the blueprint on, lazily: importing this package's services must not import its views, which
import the models of other domains (and, through `scope`, org's again)."""


def __getattr__(name: str):
    if name == "bp":
        from .views import bp

        return bp
    raise AttributeError(name)
