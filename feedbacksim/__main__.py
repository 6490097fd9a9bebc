"""``python -m feedbacksim`` runs the command line.

``python -m`` puts the current directory first on ``sys.path``; it is taken off before
anything else is imported, so a file in the directory you run from (a ``toy_world.py``,
or one named like a module the scenario lists) is never imported implicitly. Put a
plugin's folder on ``PYTHONPATH`` to import it from there.
"""

import os
import sys

if not getattr(sys.flags, "safe_path", False) and sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from feedbacksim.cli import main  # noqa: E402  (after the path is made safe)

sys.exit(main())
