"""agegender: age (years) and gender (female/male) of every face in a photo.

The user-facing entry points are :class:`agegender.inference.FaceAnalyzer`
(Python API), the ``agegender`` command (:mod:`agegender.cli`) and the web app
(:mod:`agegender.server`). Heavy modules are imported lazily so that
``import agegender`` stays cheap.
"""

__version__ = "0.1.0"

__all__ = ["FaceAnalyzer", "Face", "__version__"]


def __getattr__(name):
    if name == "FaceAnalyzer":
        from agegender.inference import FaceAnalyzer

        return FaceAnalyzer
    if name == "Face":
        from agegender.results import Face

        return Face
    raise AttributeError(f"module 'agegender' has no attribute {name!r}")
