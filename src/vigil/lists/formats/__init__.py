"""List file formats, registered by name. Importing this package registers the built-in ones."""

from vigil.lists.formats import csvfmt, nsrl, plain, vics, vpdqfmt
from vigil.lists.formats.base import FORMATS, ListFormat, ListRow

__all__ = ["FORMATS", "ListFormat", "ListRow", "csvfmt", "nsrl", "plain", "vics", "vpdqfmt"]
