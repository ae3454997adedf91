"""`lazy_exports`: a package's public names, imported from their modules on first use.

tfbert's packages import TensorFlow, which takes seconds. Their `__init__` modules declare what
they export with `lazy_exports` instead of importing it, so that importing a package (for
example `tfbert.cli` to answer `--help`) costs nothing until a TensorFlow-backed name is used.

>>> import sys
>>> getattr_, dir_ = lazy_exports(__name__, {"loads": "json:loads", "decoder": "json.decoder"})
>>> getattr_("loads")("[1]"), getattr_("decoder").__name__, dir_()
([1], 'json.decoder', ['decoder', 'loads'])
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`(__getattr__, __dir__)` for the module named `package`.

    `exports` maps each public name to "module:attribute", or to "module" for a submodule.
    A name is imported when first used, then cached in the package's namespace. Assign both
    functions at module level (PEP 562) and set `__all__ = sorted(exports)`.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = exports[name].partition(":")
        value = importlib.import_module(module_name)
        if attribute:
            value = getattr(value, attribute)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
