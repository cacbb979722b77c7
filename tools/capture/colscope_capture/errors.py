"""The one exception type the package raises for bad use and failed writes."""


class CaptureError(RuntimeError):
    """Bad use of colscope_capture (a layer pattern that matches nothing, a bad
    option) or a failed write (non-writable directory, full disk). The message
    names what and where; the OS error, if any, is chained as ``__cause__``."""
