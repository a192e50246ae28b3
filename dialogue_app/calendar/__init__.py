"""Hands the blueprint on, lazily (see dialogue_app/auth/__init__.py for why)."""


def __getattr__(name: str):
    if name == "bp":
        from .views import bp

        return bp
    raise AttributeError(name)
