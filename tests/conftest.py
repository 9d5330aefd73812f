"""Settings shared by the whole suite.

Property tests (hypothesis) run derandomized by default: the same examples
on every run, so that CI passes or fails on the code, not on the draw. Set
``HYPOTHESIS_PROFILE=explore`` to search afresh (more examples, random
seeds) when working on a translator; a failure found that way becomes a
golden test.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=2000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
